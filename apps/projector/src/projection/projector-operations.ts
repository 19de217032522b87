import { consumerGroupLag, totalLag, type PartitionLag } from '@cqrs/messaging/consumer';
import {
  activeGeneration,
  GenerationAdmin,
  listGenerations,
  RebuildProgressStore,
  TaskReadModelWriter,
  type GenerationInfo,
  type ParkedEventInfo,
  type RebuildRecord,
  type RebuildSource,
  type RedriveResult,
} from '@cqrs/tasks-read-model';
import type { Admin } from 'kafkajs';
import { hostname } from 'node:os';
import type { Pool } from 'pg';
import { commitOffsets, noteEndOffsets, recordsOnTopics, recordsSince } from '../rebuild/kafka-offsets';
import { ProgressMeter } from '../rebuild/progress-meter';
import {
  runStorePhase,
  StoreReadInterrupted,
  type StoreLoadSettings,
  type StorePhaseResult,
} from '../rebuild/store-rebuild';
import { createProjectionConsumer, groupIdOf, type ProjectionDeps, type ProjectionSettings } from './projection-runner';

/** What `status` shows. */
export interface ProjectorStatus {
  activeGeneration: number;
  generations: GenerationInfo[];
  groupId: string;
  /** Members of the active group (running projector instances). */
  members: number;
  partitions: (PartitionLag & { lastAppliedOffset: string | null; appliedAt: Date | null })[];
  totalLag: number;
  parked: { streamId: string | null; count: number; headId: number; reason: string; errorCode: string; since: Date }[];
}

/** Progress of a rebuild, reported about twice a second. */
export interface RebuildProgress {
  generation: number;
  source: RebuildSource;
  phase: 'reading-store' | 'catching-up' | 'indexing' | 'activating' | 'handing-off';
  /** Records on the topics the new generation's group has not applied yet (Kafka phases). */
  lag: number;
  elapsedMs: number;
  /** Events applied so far (store events, then Kafka records after the noted offsets). */
  eventsDone: number;
  /** Events expected in all; null until known. */
  eventsExpected: number | null;
  eventsPerSecond: number;
  /** Time left at the current rate; null while unknown. */
  etaMs: number | null;
}

export interface RebuildReport {
  generation: number;
  previous: number | null;
  source: RebuildSource;
  /** Whether this run continued an interrupted rebuild (`--resume`). */
  resumed: boolean;
  /** Events in the new generation when it was activated: store events plus Kafka records after the noted offsets (source store), or records on the topic(s) (source kafka). */
  events: number;
  /** From the start until queries read the new generation. */
  durationMs: number;
  eventsPerSecond: number;
  /** The store phase (source store): events read and applied, and how long it took (this run). */
  store?: Pick<
    StorePhaseResult,
    'events' | 'eventsDone' | 'applied' | 'duplicates' | 'leftToKafka' | 'parked' | 'durationMs' | 'timings'
  > & { eventsPerSecond: number };
  /** Records applied from Kafka after the offsets noted before the store snapshot (source store). */
  kafkaRecordsAfterSnapshot?: number;
  /** When each step was done, in ms from the start: where the time went. */
  timelineMs: Partial<
    Record<
      | 'started'
      | 'storeRead'
      | 'offsetsCommitted'
      | 'dlqReady'
      | 'consumerStarted'
      | 'caughtUp'
      | 'indexed'
      | 'activated',
      number
    >
  >;
  /** Retired generations whose tables (and consumer groups) were dropped. */
  dropped: number[];
  /** Whether a running projector took over the new group before the rebuild stopped. */
  handedOff: boolean;
}

export interface RebuildOptions {
  /**
   * Where history comes from: `store` (default) reads the event store in one snapshot, then hands
   * over to Kafka at the end offsets noted before it; `kafka` re-reads the topics from offset 0.
   */
  source?: RebuildSource;
  /** Continue the interrupted store rebuild recorded in `projection_rebuilds` (same generation). */
  resume?: boolean;
  /** The event store, as a role that may read `events` and `events_archive` (source store). */
  eventStore?: Pool;
  /** Stream type to read from the store. @default 'tasks.task' */
  streamType?: string;
  /** Tuning of the store read and load. */
  store?: StoreLoadSettings;
  /** Switch once at most this many records are left to apply. @default 100 */
  maxLag?: number;
  /** Keep applying until a projector joins the new group, at most this long. @default 30000 */
  handoffTimeoutMs?: number;
  /** Retired generations to keep. @default 1 */
  keep?: number;
  onProgress?: (p: RebuildProgress) => void;
  signal?: AbortSignal;
}

/** A running rebuild reports every few seconds; one silent for this long is taken for dead. */
export const REBUILD_SILENCE_MS = 30_000;
const HEARTBEAT_MS = 2_000;

/** How an operation failed, for the admin API's problem+json (the kinds of `DomainError`). */
export type OperationErrorKind = 'not_found' | 'conflict' | 'unprocessable';

/**
 * A user-facing failure of an operation: the CLI prints the message and exits 1; the admin API
 * answers problem+json with its `code`, the status its `kind` maps to (409 unless said otherwise).
 */
export class OperationError extends Error {
  override readonly name = 'OperationError';
  readonly code: string;
  readonly kind: OperationErrorKind;

  constructor(message: string, options: { code?: string; kind?: OperationErrorKind; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? 'OPERATION_REFUSED';
    this.kind = options.kind ?? 'conflict';
  }
}

const noSuchRecord = (id: number) =>
  new OperationError(`no parked record #${id}`, { code: 'DEAD_LETTER_NOT_FOUND', kind: 'not_found' });

/**
 * The projector's operations (the CLI's commands): status, the DLQ (list, show, redrive) and
 * rebuilding the projection into a new generation. Kept apart from the CLI so tests drive them.
 */
export class ProjectorOperations {
  constructor(
    private readonly deps: ProjectionDeps,
    private readonly settings: ProjectionSettings,
    private readonly kafkaAdmin: Admin,
    /** Owner-role pool, for `rebuild` only (DDL). */
    private readonly ownerPool?: Pool,
  ) {}

  async status(): Promise<ProjectorStatus> {
    const existing = new Set(await this.kafkaAdmin.listTopics());
    const missing = this.settings.topics.filter((t) => !existing.has(t));
    if (missing.length > 0)
      throw new OperationError(`topic ${missing.join(', ')} does not exist yet (nothing has been published to it)`);
    const generation = await activeGeneration(this.deps.pool);
    const writer = new TaskReadModelWriter(this.deps.pool, generation, false);
    const groupId = groupIdOf(this.settings.groupPrefix, generation);
    const [generations, lags, positions, parked, groups] = await Promise.all([
      listGenerations(this.deps.pool),
      consumerGroupLag(this.kafkaAdmin, groupId, this.settings.topics),
      writer.partitionPositions(),
      writer.parked.streams(),
      this.kafkaAdmin.describeGroups([groupId]),
    ]);
    const positionOf = new Map(positions.map((p) => [`${p.topic}/${p.partition}`, p]));
    return {
      activeGeneration: generation,
      generations,
      groupId,
      members: groups.groups[0]?.members.length ?? 0,
      partitions: lags.map((l) => {
        const p = positionOf.get(`${l.topic}/${l.partition}`);
        return { ...l, lastAppliedOffset: p?.lastOffset ?? null, appliedAt: p?.appliedAt ?? null };
      }),
      totalLag: totalLag(lags),
      parked,
    };
  }

  /** Parked records of the active generation, oldest first. */
  async listDeadLetters(options: { streamId?: string; limit?: number } = {}): Promise<ParkedEventInfo[]> {
    return (await this.activeWriter()).parked.list(options);
  }

  async showDeadLetter(id: number) {
    const record = await (await this.activeWriter()).parked.get(id);
    if (!record) throw noSuchRecord(id);
    return record;
  }

  /** Refuses a record that waits behind an earlier parked record of its stream (409 DEAD_LETTER_NOT_HEAD). */
  private async requireHead(writer: TaskReadModelWriter, id: number, streamId: string, action: string): Promise<void> {
    const [head] = await writer.parked.list({ streamId, limit: 1 });
    if (head && head.id !== id) {
      throw new OperationError(
        `record #${id} waits behind #${head.id} of stream ${streamId}; ${action} #${head.id} first`,
        {
          code: 'DEAD_LETTER_NOT_HEAD',
        },
      );
    }
  }

  /**
   * Discards parked record `id` for good: it is never applied. Only the first parked record of
   * its stream may be discarded (the ones behind it wait for it); they stay parked, and the stream
   * stays blocked until they are redriven or discarded too.
   */
  async discardDeadLetter(id: number): Promise<{ id: number; streamId: string | null; stillParked: number }> {
    const writer = await this.activeWriter();
    const record = await writer.parked.get(id);
    if (!record) throw noSuchRecord(id);
    if (record.streamId !== null) await this.requireHead(writer, id, record.streamId, 'discard');
    const result = await writer.parked.discard(id);
    if (!result) throw noSuchRecord(id);
    return { id, ...result };
  }

  /**
   * Redrives parked record `id` and what waits behind it in its stream, in order.
   * @param replacementValue an operator's corrected value for that record (e.g. re-encoded from the event store)
   */
  async redriveOne(id: number, replacementValue?: Buffer): Promise<RedriveResult> {
    const writer = await this.activeWriter();
    const record = await writer.parked.get(id);
    if (!record) throw noSuchRecord(id);
    if (record.streamId === null)
      throw new OperationError(`record #${id} has no key: it belongs to no stream and cannot be applied; discard it`, {
        code: 'DEAD_LETTER_WITHOUT_STREAM',
        kind: 'unprocessable',
      });
    await this.requireHead(writer, id, record.streamId, 'redrive');
    return writer.redriveStream(record.streamId, (source) => this.deps.decoder.decode(source), replacementValue);
  }

  /** Redrives every parked stream, in the order they were parked. */
  async redriveAll(): Promise<RedriveResult[]> {
    const writer = await this.activeWriter();
    const results: RedriveResult[] = [];
    for (const stream of await writer.parked.streams()) {
      if (stream.streamId === null) {
        results.push({
          streamId: null,
          released: 0,
          stillParked: stream.count,
          error: { reason: 'NO_KEY', code: 'NO_KEY', message: 'records without a key cannot be applied' },
        });
        continue;
      }
      results.push(await writer.redriveStream(stream.streamId, (source) => this.deps.decoder.decode(source)));
    }
    return results;
  }

  /**
   * Rebuilds the projection into a new generation while queries keep reading the active one.
   *
   * Source `store` (the default): (1) notes each partition's end offset, (2) reads the event
   * store in ONE snapshot and applies every event to the fresh generation, (3) commits the noted
   * offsets for the generation's consumer group and starts its consumer there, so whatever was
   * committed after the snapshot arrives through Kafka (an event in both is a duplicate by its
   * stream version and is skipped), then (4) catches up, indexes, activates and hands off. An
   * interrupted store rebuild keeps its generation and its recorded position: `resume` continues it.
   *
   * Source `kafka`: the topics from offset 0 under the new group (history as long as Kafka keeps it).
   *
   * Either way, once caught up (lag ≤ `maxLag`), indexed and switched in one transaction, the
   * rebuild's consumer keeps applying until a running projector joins the new group (or
   * `handoffTimeoutMs` passes). Progress goes to `onProgress` and to `projection_rebuilds`.
   */
  async rebuild(options: RebuildOptions = {}): Promise<RebuildReport> {
    if (!this.ownerPool) throw new OperationError('rebuild needs the owner role: set MIGRATIONS_READ_DATABASE_URL');
    const source: RebuildSource = options.resume ? 'store' : (options.source ?? 'store');
    if (source === 'store' && !options.eventStore)
      throw new OperationError('a rebuild from the event store needs EVENT_STORE_DATABASE_URL');
    const maxLag = options.maxLag ?? 100;
    const admin = new GenerationAdmin(this.ownerPool);
    const progressStore = new RebuildProgressStore(this.deps.pool);
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const timeline: RebuildReport['timelineMs'] = {};
    const mark = (step: keyof RebuildReport['timelineMs']) => (timeline[step] = elapsed());
    const runner = `${hostname()}:${process.pid}`;

    const busy = (await progressStore.running()).find((r) => r.silentForMs < REBUILD_SILENCE_MS);
    if (busy) {
      throw new OperationError(
        `generation ${busy.generation} is being rebuilt by ${busy.runner ?? 'another process'} (last report ${Math.round(busy.silentForMs / 1000)} s ago); let it finish, or stop it and use --resume`,
        { code: 'REBUILD_RUNNING' },
      );
    }
    let record: RebuildRecord;
    let storeFrom: { position: number; eventsDone: number } | undefined;
    if (options.resume) {
      const found = await progressStore.resumable();
      if (!found)
        throw new OperationError(
          'no interrupted rebuild from the store to resume (its generation must still be building)',
        );
      await progressStore.resume(found.id, runner);
      record = found;
      // Interrupted while reading the store: on from its position. Later (catching up): its group holds where it got.
      if (found.phase === 'reading-store' || found.phase === 'starting')
        storeFrom = { position: found.storePosition ?? 0, eventsDone: found.eventsAtPosition };
    } else {
      await progressStore.abandonUnfinished();
      // Before the snapshot: anything committed after it was published at or after these offsets.
      const noted = source === 'store' ? await noteEndOffsets(this.kafkaAdmin, this.settings.topics) : [];
      const generation = await admin.startBuilding();
      // A group of that number may remain from an abandoned attempt: the new generation starts clean.
      await this.kafkaAdmin.deleteGroups([groupIdOf(this.settings.groupPrefix, generation)]).catch(() => undefined);
      record = await progressStore.start({
        generation,
        source,
        kafkaOffsets: noted,
        runner,
        phase: source === 'store' ? 'reading-store' : 'catching-up',
      });
      if (source === 'store') storeFrom = { position: 0, eventsDone: 0 };
    }
    const { generation } = record;
    mark('started');
    const groupId = groupIdOf(this.settings.groupPrefix, generation);
    const writer = new TaskReadModelWriter(this.deps.pool, generation, false);
    const consumer = createProjectionConsumer(this.deps, this.settings, writer, 'rebuild');
    const meter = new ProgressMeter();
    let phase: RebuildProgress['phase'] = source === 'store' ? 'reading-store' : 'catching-up';
    const heartbeat = setInterval(
      () => void progressStore.update(record.id, { phase }).catch(() => undefined),
      HEARTBEAT_MS,
    );
    heartbeat.unref();
    const report = (p: Omit<RebuildProgress, 'generation' | 'source' | 'elapsedMs'>) =>
      options.onProgress?.({ generation, source, elapsedMs: elapsed(), ...p });

    let storeResult: StorePhaseResult | undefined;
    let storeEvents = record.eventsAtPosition;
    let kafkaTail = 0;
    /** Until the group is at most `maxLag` behind; events done are store events plus the Kafka records applied after the noted offsets. */
    const catchUp = async () => {
      for (;;) {
        if (options.signal?.aborted) throw new OperationError('rebuild interrupted');
        const [lags, expected] = await Promise.all([
          consumerGroupLag(this.kafkaAdmin, groupId, this.settings.topics),
          source === 'store'
            ? noteEndOffsets(this.kafkaAdmin, this.settings.topics).then(
                (ends) => storeEvents + (kafkaTail = recordsSince(record.kafkaOffsets, ends)),
              )
            : recordsOnTopics(this.kafkaAdmin, this.settings.topics),
        ]);
        const lag = totalLag(lags);
        const done = Math.max(0, expected - lag);
        const throughput = meter.sample(done, expected);
        report({ phase, lag, eventsExpected: expected, ...throughput });
        void progressStore
          .update(record.id, {
            phase,
            eventsDone: done,
            eventsExpected: expected,
            eventsPerSecond: throughput.eventsPerSecond,
          })
          .catch(() => undefined);
        if (lag <= maxLag) return;
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    let previous: number | null;
    let indexing: Promise<void> | undefined;
    let committing: Promise<void> | undefined;
    try {
      if (storeFrom) {
        // The generation's consumer starts where the snapshot ends: at the offsets noted before
        // it. Committed now, beside the store read (kafkajs commits them through a consumer that
        // joins the group, which takes seconds); the group has no member until the read is done.
        committing = commitOffsets(this.kafkaAdmin, groupId, record.kafkaOffsets);
        committing.catch(() => undefined); // awaited below
        storeResult = await runStorePhase({
          ...options.store,
          pool: this.deps.pool,
          eventStore: options.eventStore!,
          generation,
          progress: progressStore,
          rebuildId: record.id,
          afterPosition: storeFrom.position,
          eventsDoneBefore: storeFrom.eventsDone,
          notedOffsets: record.kafkaOffsets,
          streamType: options.streamType,
          signal: options.signal,
          onProgress: (p) =>
            report({
              phase: 'reading-store',
              lag: 0,
              eventsDone: p.eventsDone,
              eventsExpected: p.eventsExpected,
              eventsPerSecond: p.eventsPerSecond,
              etaMs: p.etaMs,
            }),
        });
        storeEvents = storeResult.eventsDone;
        mark('storeRead');
        await committing;
        mark('offsetsCommitted');
        // What Kafka adds after the snapshot is little: index now, while the consumer joins.
        indexing = admin.createIndexes(generation);
        indexing.catch(() => undefined); // awaited below
      }
      phase = 'catching-up';
      await progressStore.update(record.id, { phase });
      await this.deps.dlq.ensureTopics(this.settings.topics);
      mark('dlqReady');
      await consumer.start();
      mark('consumerStarted');
      await catchUp();
      mark('caughtUp');
      phase = 'indexing';
      await progressStore.update(record.id, { phase });
      report({
        phase,
        lag: 0,
        eventsDone: storeEvents + kafkaTail,
        eventsExpected: null,
        eventsPerSecond: 0,
        etaMs: null,
      });
      await (indexing ?? admin.createIndexes(generation));
      mark('indexed');
      phase = 'activating';
      await catchUp();
      ({ previous } = await admin.activate(generation));
      mark('activated');
      writer.setNotify(true);
    } catch (error) {
      await Promise.all([indexing?.catch(() => undefined), committing?.catch(() => undefined)]);
      clearInterval(heartbeat);
      await consumer.stop().catch(() => undefined);
      const interrupted = !!options.signal?.aborted || error instanceof StoreReadInterrupted;
      const message = (error as Error).message;
      if (source === 'store') {
        // The generation stays, with what was applied and where: `rebuild --resume` continues it.
        await progressStore
          .update(record.id, { status: interrupted ? 'interrupted' : 'failed', error: message })
          .catch(() => undefined);
        throw new OperationError(
          `${interrupted ? 'rebuild interrupted' : `rebuild failed: ${message}`}; generation ${generation} is kept: \`projector rebuild --resume\` continues it`,
          { cause: error },
        );
      }
      await progressStore
        .update(record.id, { status: interrupted ? 'interrupted' : 'failed', error: message })
        .catch(() => undefined);
      await admin.abandon(generation).catch(() => undefined);
      throw error;
    }
    const durationMs = elapsed();
    const events =
      source === 'store' ? storeEvents + kafkaTail : await recordsOnTopics(this.kafkaAdmin, this.settings.topics);
    // Keep applying until a projector instance (which follows the switch) joins the group.
    phase = 'handing-off';
    await progressStore.update(record.id, { phase, eventsDone: events, eventsExpected: events }).catch(() => undefined);
    report({
      phase,
      lag: 0,
      eventsDone: events,
      eventsExpected: events,
      eventsPerSecond: Math.round((events / durationMs) * 1000),
      etaMs: 0,
    });
    const deadline = Date.now() + (options.handoffTimeoutMs ?? 30_000);
    let handedOff = false;
    while (Date.now() < deadline && !options.signal?.aborted) {
      const groups = await this.kafkaAdmin.describeGroups([groupId]);
      if ((groups.groups[0]?.members.length ?? 0) > 1) {
        handedOff = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await consumer.stop();
    clearInterval(heartbeat);
    await progressStore.update(record.id, { status: 'done', phase: 'done' }).catch(() => undefined);
    const dropped = await admin.dropRetired(options.keep ?? 1);
    if (dropped.length > 0) {
      await this.kafkaAdmin
        .deleteGroups(dropped.map((g) => groupIdOf(this.settings.groupPrefix, g)))
        .catch(() => undefined);
    }
    const rate = (n: number, ms: number) => (ms > 0 ? Math.round((n / ms) * 1000) : 0);
    return {
      generation,
      previous,
      source,
      resumed: !!options.resume,
      events,
      durationMs,
      eventsPerSecond: rate(events, durationMs),
      ...(storeResult
        ? {
            store: {
              events: storeResult.events,
              eventsDone: storeResult.eventsDone,
              applied: storeResult.applied,
              duplicates: storeResult.duplicates,
              leftToKafka: storeResult.leftToKafka,
              parked: storeResult.parked,
              durationMs: storeResult.durationMs,
              eventsPerSecond: rate(storeResult.events, storeResult.durationMs),
              timings: storeResult.timings,
            },
          }
        : {}),
      ...(source === 'store' ? { kafkaRecordsAfterSnapshot: kafkaTail } : {}),
      timelineMs: timeline,
      dropped,
      handedOff,
    };
  }

  private async activeWriter(): Promise<TaskReadModelWriter> {
    return new TaskReadModelWriter(this.deps.pool, await activeGeneration(this.deps.pool), true);
  }
}
