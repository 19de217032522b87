import { consumerGroupLag, totalLag, type PartitionLag } from '@cqrs/messaging/consumer';
import {
  activeGeneration,
  GenerationAdmin,
  listGenerations,
  TaskReadModelWriter,
  type GenerationInfo,
  type ParkedEventInfo,
  type RedriveResult,
} from '@cqrs/tasks-read-model';
import type { Admin } from 'kafkajs';
import type { Pool } from 'pg';
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

/** Progress of a rebuild, reported about once a second. */
export interface RebuildProgress {
  generation: number;
  phase: 'catching-up' | 'indexing' | 'activating' | 'handing-off';
  lag: number;
  elapsedMs: number;
}

export interface RebuildReport {
  generation: number;
  previous: number | null;
  /** Records on the topic(s) when the new generation was activated. */
  events: number;
  /** From the start until queries read the new generation. */
  durationMs: number;
  eventsPerSecond: number;
  /** Retired generations whose tables (and consumer groups) were dropped. */
  dropped: number[];
  /** Whether a running projector took over the new group before the rebuild stopped. */
  handedOff: boolean;
}

/** A user-facing failure of an operation (the CLI prints the message and exits 1). */
export class OperationError extends Error {
  override readonly name = 'OperationError';
}

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
    if (missing.length > 0) throw new OperationError(`topic ${missing.join(', ')} does not exist yet (nothing has been published to it)`);
    const generation = await activeGeneration(this.deps.pool);
    const writer = new TaskReadModelWriter(this.deps.pool, generation, false);
    const groupId = groupIdOf(this.settings.groupPrefix, generation);
    const [generations, lags, positions, parked, groups] = await Promise.all([
      listGenerations(this.deps.pool),
      consumerGroupLag(this.kafkaAdmin, groupId, this.settings.topics),
      writer.partitionPositions(),
      writer.parkedStreams(),
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
    return (await this.activeWriter()).listParked(options);
  }

  async showDeadLetter(id: number) {
    const record = await (await this.activeWriter()).getParked(id);
    if (!record) throw new OperationError(`no parked record #${id}`);
    return record;
  }

  /**
   * Redrives parked record `id` and what waits behind it in its stream, in order.
   * @param replacementValue an operator's corrected value for that record (e.g. re-encoded from the event store)
   */
  async redriveOne(id: number, replacementValue?: Buffer): Promise<RedriveResult> {
    const writer = await this.activeWriter();
    const record = await writer.getParked(id);
    if (!record) throw new OperationError(`no parked record #${id}`);
    if (record.streamId === null) throw new OperationError(`record #${id} has no key: it belongs to no stream and cannot be applied`);
    const [head] = await writer.listParked({ streamId: record.streamId, limit: 1 });
    if (head && head.id !== id) {
      throw new OperationError(`record #${id} waits behind #${head.id} of stream ${record.streamId}; redrive #${head.id} first`);
    }
    return writer.redriveStream(record.streamId, (source) => this.deps.decoder.decode(source), replacementValue);
  }

  /** Redrives every parked stream, in the order they were parked. */
  async redriveAll(): Promise<RedriveResult[]> {
    const writer = await this.activeWriter();
    const results: RedriveResult[] = [];
    for (const stream of await writer.parkedStreams()) {
      if (stream.streamId === null) {
        results.push({ streamId: null, released: 0, stillParked: stream.count, error: { reason: 'NO_KEY', code: 'NO_KEY', message: 'records without a key cannot be applied' } });
        continue;
      }
      results.push(await writer.redriveStream(stream.streamId, (source) => this.deps.decoder.decode(source)));
    }
    return results;
  }

  /**
   * Rebuilds the projection: fresh tables (a new generation) filled from the beginning of the
   * topic under a new consumer group, while queries keep reading the active generation; once
   * caught up (lag ≤ `maxLag`), indexed and switched in one transaction. The rebuild's consumer
   * keeps applying until a running projector joins the new group (or `handoffTimeoutMs` passes).
   */
  async rebuild(
    options: { maxLag?: number; handoffTimeoutMs?: number; keep?: number; onProgress?: (p: RebuildProgress) => void; signal?: AbortSignal } = {},
  ): Promise<RebuildReport> {
    if (!this.ownerPool) throw new OperationError('rebuild needs the owner role: set MIGRATIONS_READ_DATABASE_URL');
    const maxLag = options.maxLag ?? 100;
    const admin = new GenerationAdmin(this.ownerPool);
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const generation = await admin.startBuilding();
    const groupId = groupIdOf(this.settings.groupPrefix, generation);
    const writer = new TaskReadModelWriter(this.deps.pool, generation, false);
    const consumer = createProjectionConsumer(this.deps, this.settings, writer, 'rebuild');
    const progress = (phase: RebuildProgress['phase'], lag: number) => options.onProgress?.({ generation, phase, lag, elapsedMs: elapsed() });
    const catchUp = async (phase: RebuildProgress['phase']) => {
      for (;;) {
        if (options.signal?.aborted) throw new OperationError('rebuild interrupted');
        const lag = totalLag(await consumerGroupLag(this.kafkaAdmin, groupId, this.settings.topics));
        progress(phase, lag);
        if (lag <= maxLag) return;
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    let previous: number | null;
    try {
      await this.deps.dlq.ensureTopics(this.settings.topics);
      await consumer.start();
      await catchUp('catching-up');
      progress('indexing', 0);
      await admin.createIndexes(generation);
      await catchUp('activating');
      ({ previous } = await admin.activate(generation));
      writer.setNotify(true);
    } catch (error) {
      await consumer.stop().catch(() => undefined);
      await admin.abandon(generation).catch(() => undefined);
      throw error;
    }
    const durationMs = elapsed();
    const events = (await Promise.all(this.settings.topics.map((t) => this.kafkaAdmin.fetchTopicOffsets(t))))
      .flat()
      .reduce((sum, p) => sum + Number(BigInt(p.high) - BigInt(p.low)), 0);
    // Keep applying until a projector instance (which follows the switch) joins the group.
    progress('handing-off', 0);
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
    const dropped = await admin.dropRetired(options.keep ?? 1);
    if (dropped.length > 0) {
      await this.kafkaAdmin.deleteGroups(dropped.map((g) => groupIdOf(this.settings.groupPrefix, g))).catch(() => undefined);
    }
    return { generation, previous, events, durationMs, eventsPerSecond: Math.round((events / durationMs) * 1000), dropped, handedOff };
  }

  private async activeWriter(): Promise<TaskReadModelWriter> {
    return new TaskReadModelWriter(this.deps.pool, await activeGeneration(this.deps.pool), true);
  }
}
