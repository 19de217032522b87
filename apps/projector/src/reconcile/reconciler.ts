import { activeGeneration, TaskStreamRepairer, type StatusCounts, type StreamRepair } from '@cqrs/tasks-read-model';
import type { Admin, Kafka } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import {
  compareStats,
  countState,
  judgeKafka,
  judgeReadModel,
  orphanDifference,
  READ_MODEL_KINDS,
  unpublishedDifference,
  unsettledDifference,
  type Difference,
  type DifferenceKind,
  type Unsettled,
} from './compare';
import { KafkaTopicScan } from './kafka-scan';
import { ReadModelSnapshot, readModelVersion, type ReadModelStream } from './read-model-side';
import { checkStoreAccess, ReconcileSetupError, StoreSnapshot, storeStreamSource } from './store-side';
import { StreamFold, type StoreEventRow } from './stream-fold';

export interface ReconcileDeps {
  /** The read database as the projector role (reads; `--repair` writes). */
  readPool: Pool;
  /** The event store (write database) as a role that may read `events` and `events_archive`. */
  storePool: Pool;
  kafka: Kafka;
  admin: Admin;
  /** The projected topics (PROJECTOR_TOPICS). */
  topics: readonly string[];
  /** The projector's consumer group prefix: the scan's throwaway group is `<prefix>.reconcile-<random>`. */
  groupPrefix: string;
}

export interface ReconcileOptions {
  /** Rewrite the streams that differ in the read model from the store. @default false */
  repair?: boolean;
  /** How long a stream the projector or the relay may still be working on gets before it counts. @default 5000 */
  settleMs?: number;
  /** The store's stream type the read model projects. @default 'tasks.task' */
  streamType?: string;
  /** Events per store chunk. @default 5000 */
  chunkSize?: number;
  /** Streams per repair transaction. @default 200 */
  repairBatchSize?: number;
  /** Reported while it runs (phase changes, and about every chunk). */
  onProgress?: (p: { phase: string; streams: number; events: number; elapsedMs: number }) => void;
}

export interface ReconcileSummary {
  generation: number;
  /** Streams of the store compared (plus orphans of the read model). */
  streamsChecked: number;
  /** Read-model rows compared. */
  rowsChecked: number;
  /** Users whose statistics were compared. */
  usersChecked: number;
  /** Events read from the store (first pass; re-checks not counted). */
  eventsRead: number;
  /** Records read from Kafka (keys and headers). */
  kafkaRecords: number;
  kafkaPartitions: number;
  durationMs: number;
  /** Remaining differences by kind. */
  differencesByKind: Partial<Record<DifferenceKind, number>>;
}

export interface RepairSummary {
  streams: number;
  rewritten: number;
  removed: number;
  skipped: number;
  /** Users whose statistics were recounted from their rows. */
  usersRecounted: number;
  durationMs: number;
  /** Streams the repair could not rewrite, with why. */
  failures: { streamId: string; error: string }[];
}

export interface ReconcileReport {
  /** No difference remains. */
  ok: boolean;
  summary: ReconcileSummary;
  /** The differences that remain (after a repair: what it did not fix, as re-checked). */
  differences: Difference[];
  /** With `repair`: what the comparison found before repairing. */
  found?: Difference[];
  repair?: RepairSummary;
  /** Facts worth knowing that are not differences (retention, records the scan skipped). */
  notes: string[];
  /** What to do about the differences `--repair` cannot fix. */
  advice: string[];
}

const ADVICE: Partial<Record<DifferenceKind, string>> = {
  NOT_PUBLISHED:
    'NOT_PUBLISHED: the store has events the topic lacks even after the settle period. The outbox relay publishes every committed event in order; if it is running and caught up, those events were lost on the way (e.g. a dropped replication slot) and must be republished from the store (their outbox rows re-inserted) — duplicates are harmless to the projector. The read model does not wait for that: --repair rewrites it from the store.',
  PHANTOM:
    'PHANTOM: the topic holds versions (or streams) the store does not have: something other than the relay produced them, or the store was restored from an older backup. They cannot be taken back; find the producer. --repair makes the read model agree with the store again.',
  KAFKA_GAP:
    'KAFKA_GAP: versions are missing on the topic between versions it has (not retention): the projector parks such a stream (GAP). Republish the missing events from the store, or let --repair rewrite the stream from the store.',
  EVENT_ID:
    'EVENT_ID: the same versions carry other event ids on the topic than in the store: the topic was written by something other than the relay, or the store was changed. The store is the source of truth; find what produced those records.',
  STORE_INVALID:
    'STORE_INVALID: the store’s stream cannot be folded (a missing or repeated version, or an event that does not apply): nothing can be reconciled against it and nothing rewrites it (events are facts). Look at its events; a missing upcaster or a bug in the fold is the usual cause.',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Chunks of `size`. */
const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** Accumulates one comparison pass. */
class Pass {
  readonly differences: Difference[] = [];
  readonly unsettled = new Map<string, Unsettled>();
  readonly unpublished = new Map<string, { kafka: number; store: number }>();
  readonly expectedStats = new Map<string, StatusCounts>();
  streams = 0;
  rows = 0;
  events = 0;

  constructor(
    private readonly kafka?: KafkaTopicScan,
    private readonly thresholds?: ReadonlyMap<string, number>,
  ) {}

  begin(streamId: string, rm: ReadModelStream | undefined): Current {
    const k = this.kafka?.streams.byStream.get(streamId);
    if (k) k.matched = true;
    const digestRange = k && !k.idMissing && k.contiguous === k.max ? { from: k.from, to: k.max } : undefined;
    return { fold: new StreamFold(streamId, readModelVersion(rm), digestRange), rm };
  }

  finish({ fold, rm }: Current): void {
    this.streams++;
    this.events += fold.events;
    if (rm?.view) this.rows++;
    const verdict = judgeReadModel(fold, rm, this.thresholds?.get(fold.streamId));
    this.differences.push(...verdict.differences);
    if (verdict.unsettled) this.unsettled.set(fold.streamId, verdict.unsettled);
    countState(verdict.counted, this.expectedStats);
    if (this.kafka) {
      const k = this.kafka.streams.byStream.get(fold.streamId);
      const kafka = judgeKafka(fold, k);
      this.differences.push(...kafka.differences);
      if (kafka.unpublished) {
        // A stream the topic lacks entirely, on a partition retention has cut: not counted.
        if (!k && this.kafka.mayHaveLostToRetention(fold.streamId)) this.retained++;
        else this.unpublished.set(fold.streamId, kafka.unpublished);
      }
    }
  }

  /** Streams absent from the topic, on partitions that lost records to retention. */
  retained = 0;

  orphan(rm: ReadModelStream): void {
    this.streams++;
    if (rm.view) this.rows++;
    this.differences.push(orphanDifference(rm));
  }
}

interface Current {
  fold: StreamFold;
  rm: ReadModelStream | undefined;
}

/**
 * Reconciliation (`projector reconcile`): the read model of the active generation against a
 * replay of the event store, and the store's streams against what reached Kafka; with `repair`,
 * rewrites the streams that differ in the read model from the store and checks them again.
 *
 * Snapshots, in this order: the read model's (REPEATABLE READ), Kafka's end offsets, the store's
 * (REPEATABLE READ). The projector applies only published events and the relay publishes only
 * committed ones, so in a healthy system the store's snapshot has everything the other two
 * reflect; what is missing on their side may still be on its way, and is looked at again after
 * the settle period.
 */
export class Reconciler {
  constructor(private readonly deps: ReconcileDeps) {}

  async run(options: ReconcileOptions = {}): Promise<ReconcileReport> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const settleMs = options.settleMs ?? 5_000;
    const streamType = options.streamType ?? 'tasks.task';
    const chunkSize = options.chunkSize ?? 5_000;
    const progress = (phase: string, streams = 0, events = 0) =>
      options.onProgress?.({ phase, streams, events, elapsedMs: elapsed() });

    await checkStoreAccess(this.deps.storePool);
    await this.checkCollations();

    const notes: string[] = [];
    const kafka = new KafkaTopicScan({
      kafka: this.deps.kafka,
      admin: this.deps.admin,
      topics: this.deps.topics,
      groupId: `${this.deps.groupPrefix}.reconcile-${randomBytes(4).toString('hex')}`,
    });
    let generation: number;
    let first: Pass;
    let actualStats: Map<string, StatusCounts>;
    try {
      const rm = await ReadModelSnapshot.open(this.deps.readPool);
      try {
        generation = rm.generation;
        progress('reading kafka');
        await kafka.readToEnd();
        const store = await StoreSnapshot.open(this.deps.storePool, { streamType, chunkSize });
        try {
          progress('comparing');
          first = new Pass(kafka);
          await this.scanAll(first, store, rm, chunkSize, (p) => progress('comparing', p.streams, p.events));
        } finally {
          await store.close();
        }
        actualStats = await rm.stats();
      } finally {
        await rm.close();
      }

      let differences = [...first.differences, ...compareStats(first.expectedStats, actualStats)];
      for (const [streamId, k] of kafka.streams.byStream) {
        if (!k.matched)
          differences.push({
            kind: 'PHANTOM',
            side: 'kafka',
            streamId,
            field: 'version',
            found: `v${k.max}`,
            store: 'none',
          });
      }
      // What may still be on its way: looked at again once, after the settle period.
      if (settleMs > 0 && (first.unsettled.size > 0 || first.unpublished.size > 0)) {
        progress(
          `settling (${first.unsettled.size} stream(s) behind in the read model, ${first.unpublished.size} not yet on Kafka)`,
        );
        await sleep(settleMs);
      }
      if (first.unpublished.size > 0) {
        if (settleMs > 0) await kafka.readToEnd();
        for (const [streamId, u] of first.unpublished) {
          const now = kafka.streams.byStream.get(streamId)?.max ?? 0;
          if (now < u.store) differences.push(unpublishedDifference(streamId, now, u.store));
        }
      }
      if (first.unsettled.size > 0) {
        if (settleMs > 0) {
          // Compared again in fresh snapshots: what the first look found about them is replaced.
          const again = await this.compareStreams([...first.unsettled.keys()], {
            streamType,
            chunkSize,
            thresholds: thresholdsOf(first.unsettled),
          });
          differences = differences.filter(
            (d) => d.side === 'kafka' || d.streamId === undefined || !first.unsettled.has(d.streamId),
          );
          differences.push(...again.differences, ...unsettledDifferences(again));
        } else {
          differences.push(...unsettledDifferences(first));
        }
      }
      this.describeKafka(kafka, first, notes);

      let remaining = differences;
      let repair: RepairSummary | undefined;
      if (options.repair) {
        ({ remaining, repair } = await this.repair(differences, generation, {
          streamType,
          chunkSize,
          settleMs,
          batchSize: options.repairBatchSize ?? 200,
          progress,
        }));
      }
      remaining = sortDifferences(remaining);
      const byKind: Partial<Record<DifferenceKind, number>> = {};
      for (const d of remaining) byKind[d.kind] = (byKind[d.kind] ?? 0) + 1;
      const kinds = new Set(remaining.map((d) => d.kind));
      return {
        ok: remaining.length === 0,
        summary: {
          generation,
          streamsChecked: first.streams,
          rowsChecked: first.rows,
          usersChecked: new Set([...first.expectedStats.keys(), ...actualStats.keys()]).size,
          eventsRead: first.events,
          kafkaRecords: kafka.streams.records,
          kafkaPartitions: kafka.partitions.size,
          durationMs: elapsed(),
          differencesByKind: byKind,
        },
        differences: remaining,
        ...(options.repair ? { found: sortDifferences(differences), repair } : {}),
        notes,
        advice: Object.entries(ADVICE)
          .filter(([kind]) => kinds.has(kind as DifferenceKind))
          .map(([, text]) => text),
      };
    } finally {
      await kafka.close();
    }
  }

  /** The first pass: every stream of the store merged, in stream order, with the read model's. */
  private async scanAll(
    pass: Pass,
    store: StoreSnapshot,
    rm: ReadModelSnapshot,
    chunkSize: number,
    onChunk: (p: { streams: number; events: number }) => void,
  ) {
    let after: StoreEventRow | undefined;
    // The read model is read by ranges of stream ids matching the store's chunks, so a stream
    // the read model has and the store does not (an orphan) shows up in the range it falls in.
    let rangeStart: string | null = null;
    let current: Current | undefined;
    for (;;) {
      const rows = await store.chunk(after ? { streamId: after.streamId, version: after.version } : null);
      if (rows.length === 0) break;
      const rangeEnd = rows[rows.length - 1]!.streamId;
      const known = await rm.range(rangeStart, rangeEnd);
      for (const e of rows) {
        if (current?.fold.streamId !== e.streamId) {
          if (current) pass.finish(current);
          current = pass.begin(e.streamId, known.get(e.streamId));
          known.delete(e.streamId);
        }
        current.fold.add(e);
      }
      for (const orphan of known.values()) pass.orphan(orphan);
      onChunk({ streams: pass.streams, events: pass.events + (current?.fold.events ?? 0) });
      rangeStart = rangeEnd;
      after = rows[rows.length - 1];
      if (rows.length < chunkSize) break;
    }
    if (current) pass.finish(current);
    for (const orphan of (await rm.range(rangeStart, null)).values()) pass.orphan(orphan);
  }

  /**
   * Compares some streams again, in fresh snapshots (read model first, then the store):
   * `thresholds` are the versions the read model must have reached by now (else BEHIND).
   */
  private async compareStreams(
    ids: readonly string[],
    options: { streamType: string; chunkSize: number; thresholds?: ReadonlyMap<string, number> },
  ): Promise<Pass> {
    const pass = new Pass(undefined, options.thresholds);
    const rm = await ReadModelSnapshot.open(this.deps.readPool);
    try {
      const store = await StoreSnapshot.open(this.deps.storePool, options);
      try {
        for (const group of chunks([...new Set(ids)], 500)) {
          const known = await rm.byIds(group);
          let after: StoreEventRow | undefined;
          let current: Current | undefined;
          for (;;) {
            const rows = await store.chunk(after ? { streamId: after.streamId, version: after.version } : null, group);
            for (const e of rows) {
              if (current?.fold.streamId !== e.streamId) {
                if (current) pass.finish(current);
                current = pass.begin(e.streamId, known.get(e.streamId));
                known.delete(e.streamId);
              }
              current.fold.add(e);
            }
            if (rows.length < options.chunkSize) break;
            after = rows[rows.length - 1];
          }
          if (current) pass.finish(current);
          for (const orphan of known.values()) pass.orphan(orphan);
        }
      } finally {
        await store.close();
      }
    } finally {
      await rm.close();
    }
    return pass;
  }

  /** Rewrites the read model's differing streams from the store, recounts statistics, checks again. */
  private async repair(
    differences: Difference[],
    generation: number,
    options: {
      streamType: string;
      chunkSize: number;
      settleMs: number;
      batchSize: number;
      progress: (phase: string) => void;
    },
  ): Promise<{ remaining: Difference[]; repair: RepairSummary }> {
    const started = performance.now();
    const streams = [
      ...new Set(
        differences.filter((d) => READ_MODEL_KINDS.has(d.kind) && d.streamId !== undefined).map((d) => d.streamId!),
      ),
    ].sort();
    const statsOwners = new Set(
      differences.filter((d) => d.kind === 'STATS' && d.ownerId !== undefined).map((d) => d.ownerId!),
    );
    const summary: RepairSummary = {
      streams: streams.length,
      rewritten: 0,
      removed: 0,
      skipped: 0,
      usersRecounted: 0,
      durationMs: 0,
      failures: [],
    };
    if (streams.length === 0 && statsOwners.size === 0) return { remaining: differences, repair: summary };
    const now = await activeGeneration(this.deps.readPool);
    if (now !== generation)
      throw new ReconcileSetupError(
        `generation ${now} was activated while reconciling generation ${generation}: nothing was repaired; run reconcile again`,
      );

    const repairer = new TaskStreamRepairer(this.deps.readPool, generation);
    const source = storeStreamSource(this.deps.storePool, options.streamType);
    const results: StreamRepair[] = [];
    for (const [i, batch] of chunks(streams, options.batchSize).entries()) {
      options.progress(
        `repairing streams ${i * options.batchSize + 1}-${i * options.batchSize + batch.length} of ${streams.length}`,
      );
      results.push(...(await repairer.repair(batch, source)));
    }
    for (const r of results) {
      summary[r.outcome]++;
      for (const owner of r.owners) statsOwners.add(owner);
      if (r.error) summary.failures.push({ streamId: r.streamId, error: r.error });
    }
    // Statistics are moved by each rewrite's delta above, which is exact when they agreed with
    // the old rows; recounting the users concerned makes them exact whatever they held.
    const owners = [...statsOwners].sort();
    for (const batch of chunks(owners, 500)) summary.usersRecounted += (await repairer.recountStats(batch)).length;
    summary.durationMs = Math.round(performance.now() - started);

    // Checked again: the repaired streams (with a settle period for what the projector applies
    // meanwhile), and the recounted users' statistics against their rows.
    options.progress('checking the repaired streams');
    const compare = { streamType: options.streamType, chunkSize: options.chunkSize };
    const recheck = await this.compareStreams(streams, compare);
    let rechecked = [...recheck.differences, ...unsettledDifferences(recheck)];
    if (recheck.unsettled.size > 0 && options.settleMs > 0) {
      await sleep(options.settleMs);
      const again = await this.compareStreams([...recheck.unsettled.keys()], {
        ...compare,
        thresholds: thresholdsOf(recheck.unsettled),
      });
      rechecked = [
        ...recheck.differences.filter((d) => d.streamId === undefined || !recheck.unsettled.has(d.streamId)),
        ...again.differences,
        ...unsettledDifferences(again),
      ];
    }
    const statsAfter: Difference[] = [];
    if (owners.length > 0) {
      const rm = await ReadModelSnapshot.open(this.deps.readPool);
      try {
        for (const batch of chunks(owners, 500))
          statsAfter.push(...compareStats(await rm.rowCounts(batch), await rm.stats(batch)));
      } finally {
        await rm.close();
      }
    }
    const untouched = differences.filter((d) => !READ_MODEL_KINDS.has(d.kind));
    return { remaining: [...untouched, ...rechecked, ...statsAfter], repair: summary };
  }

  /** Notes on what the Kafka scan saw that is not a difference. */
  private describeKafka(kafka: KafkaTopicScan, pass: Pass, notes: string[]): void {
    const s = kafka.streams;
    for (const topic of kafka.missingTopics) notes.push(`topic ${topic} does not exist: read as empty`);
    const cut = [...kafka.partitions.values()].filter((p) => p.low > 0n);
    if (cut.length > 0) {
      const truncated = [...s.byStream.values()].filter((k) => k.truncated).length;
      notes.push(
        `retention: ${cut.length} partition(s) start after offset 0 (${cut
          .map((p) => `${p.topic}/${p.partition} from ${p.low}`)
          .slice(0, 4)
          .join(', ')}${cut.length > 4 ? ', …' : ''}); ` +
          `${truncated} stream(s) whose first records were deleted were checked from their first version on the topic, and ${pass.retained} stream(s) absent from truncated partitions were not counted as not published`,
      );
    }
    if (s.unkeyed > 0)
      notes.push(`${s.unkeyed} record(s) without a key (no stream; the projector parks them as NO_KEY)`);
    if (s.unversioned > 0)
      notes.push(`${s.unversioned} record(s) without a valid aggregateVersion header were not counted`);
    if (s.duplicates > 0)
      notes.push(
        `${s.duplicates} record(s) repeat a version already on the topic (at-least-once delivery; harmless to the projector)`,
      );
    const idless = [...s.byStream.values()].filter((k) => k.idMissing).length;
    notes.push(
      `event ids are compared from each record's id header (set by the relay to the event id), without decoding values` +
        (idless > 0 ? `; ${idless} stream(s) have records without it and were compared by version only` : ''),
    );
  }

  /** The merge of the store's and the read model's streams needs both databases to order text alike. */
  private async checkCollations(): Promise<void> {
    const sql = `SELECT datcollate || '/' || datctype || '/' || datlocprovider::text || '/' || coalesce(daticulocale, '') AS collation FROM pg_database WHERE datname = current_database()`;
    const [read, store] = await Promise.all([
      this.deps.readPool.query<{ collation: string }>(sql),
      this.deps.storePool.query<{ collation: string }>(sql),
    ]);
    const a = read.rows[0]?.collation;
    const b = store.rows[0]?.collation;
    if (a !== b)
      throw new ReconcileSetupError(
        `the read database (${a}) and the event store (${b}) sort text differently; reconcile needs the same collation on both`,
      );
  }
}

/** The versions unsettled streams must reach by the next look. */
const thresholdsOf = (unsettled: ReadonlyMap<string, Unsettled>) =>
  new Map([...unsettled].map(([id, u]) => [id, u.store]));

/** Unsettled streams as differences (when there is no further look). */
const unsettledDifferences = (pass: Pass) =>
  [...pass.unsettled].map(([streamId, u]) => unsettledDifference(streamId, u));

const KIND_ORDER: readonly DifferenceKind[] = [
  'STORE_INVALID',
  'MISMATCH',
  'MISSING',
  'CHECKPOINT',
  'BEHIND',
  'AHEAD',
  'ORPHAN',
  'PARKED',
  'STATS',
  'NOT_PUBLISHED',
  'PHANTOM',
  'KAFKA_GAP',
  'EVENT_ID',
];

function sortDifferences(differences: Difference[]): Difference[] {
  const rank = (d: Difference) => KIND_ORDER.indexOf(d.kind);
  return [...differences].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.streamId ?? a.ownerId ?? '').localeCompare(b.streamId ?? b.ownerId ?? '') ||
      a.field.localeCompare(b.field),
  );
}
