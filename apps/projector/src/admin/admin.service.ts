import { AvroSerde, createSchemaRegistry } from '@cqrs/messaging';
import { totalLag, type ConsumerLogger, type DeadLetterPublisher, type PartitionLag } from '@cqrs/messaging/consumer';
import { ProjectionControls, sqlIdentifier, type RunningProjection } from '@cqrs/projection';
import { tasksTaskEventsContracts } from '@cqrs/tasks-contracts';
import { RebuildProgressStore, type ParkedEventInfo, type RebuildRecord } from '@cqrs/tasks-read-model';
import { DomainError } from '@cqrs/util';
import type { Admin, Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { ProjectorConfig } from '../config';
import { projectionSettings } from '../config';
import { PROJECTOR_CONTEXTS } from '../contexts';
import { ProjectionRunner } from '../projection/projection-runner';
import {
  ProjectorOperations,
  REBUILD_SILENCE_MS,
  type RebuildProgress,
  type RebuildReport,
} from '../projection/projector-operations';
import { TaskRecordDecoder } from '../projection/task-record.decoder';
import { reconcileWithConfig } from '../reconcile/reconcile-command';
import type { ReconcileReport } from '../reconcile/reconciler';
import {
  REBUILD_PHASES,
  type DeadLetterDetailDto,
  type DeadLetterDto,
  type ProjectionDto,
  type RebuildDto,
  type RebuildReportDto,
  type ReconcileReportDto,
  type ReconciliationDto,
} from './admin.dto';
import { readRelayStatus, type RelayStatus } from './relay-status';

/** Pools and clients the admin operations use besides the projections' own. */
export interface AdminResources {
  config: ProjectorConfig;
  projections: readonly RunningProjection[];
  /** The read database as the projector role. */
  pool: Pool;
  /** The read database as its owner (a rebuild's DDL); without it, rebuilds are refused. */
  ownerPool: Pool | undefined;
  /** The event store as the projector's store role (rebuilds from the store, relay status). */
  eventStore: Pool;
  kafka: Kafka;
  dlq: DeadLetterPublisher;
  logger: ConsumerLogger;
}

interface RebuildJob {
  id: string;
  projection: string;
  source: 'store' | 'kafka';
  state: RebuildDto['state'];
  progress: RebuildProgress | undefined;
  startedAt: Date;
  finishedAt: Date | null;
  report: RebuildReport | null;
  error: string | null;
  abort: AbortController;
  done: Promise<void>;
}

interface ReconciliationJob {
  id: string;
  repair: boolean;
  state: ReconciliationDto['state'];
  phase: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  report: ReconcileReport | null;
  error: string | null;
  done: Promise<void>;
}

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

const notFound = (name: string, known: readonly string[]) =>
  new DomainError('PROJECTION_NOT_FOUND', 'not_found', `No projection "${name}"; known: ${known.join(', ')}`);

const streamUnsupported = (name: string, what: string) =>
  new DomainError(
    'STREAM_PROJECTION_UNSUPPORTED',
    'conflict',
    `"${name}" is a stream projection (per-stream checkpoints, no generations): ${what}`,
  );

/**
 * The admin API's operations over the running projector: the same {@link ProjectorOperations}
 * the CLI calls, plus what only a long-running process can do (rebuilds and reconciliations in
 * the background, pause and resume through the read database).
 */
export class AdminService {
  private readonly controls: ProjectionControls;
  private readonly admin: Admin;
  private connecting: Promise<void> | undefined;
  private readonly operations: ProjectorOperations;
  private readonly streams: Map<string, { topics: readonly string[]; checkpointTable: string; groupId: string }>;
  private readonly rebuilds = new Map<string, RebuildJob>();
  private reconciliation: ReconciliationJob | undefined;

  constructor(private readonly r: AdminResources) {
    this.controls = new ProjectionControls(r.pool);
    this.admin = r.kafka.admin();
    const decoder = new TaskRecordDecoder(
      new AvroSerde({ registry: createSchemaRegistry(r.config.schemaRegistry), contracts: tasksTaskEventsContracts }),
    );
    this.operations = new ProjectorOperations(
      { pool: r.pool, kafka: r.kafka, decoder, dlq: r.dlq, logger: r.logger },
      projectionSettings(r.config),
      this.admin,
      r.ownerPool,
    );
    this.streams = new Map(
      PROJECTOR_CONTEXTS.flatMap((c) => c.streamProjections?.(r.config) ?? []).map((s) => [
        s.definition.name,
        { topics: s.definition.topics, checkpointTable: s.definition.checkpointTable, groupId: s.groupId },
      ]),
    );
  }

  /** Stops what runs in the background (a rebuild stops between steps; its generation stays resumable). */
  async close(): Promise<void> {
    for (const job of this.rebuilds.values()) job.abort.abort();
    await Promise.allSettled([...[...this.rebuilds.values()].map((j) => j.done), this.reconciliation?.done]);
    await this.admin.disconnect().catch(() => undefined);
  }

  private async connected(): Promise<ProjectorOperations> {
    this.connecting ??= this.admin.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    await this.connecting;
    return this.operations;
  }

  private find(name: string): RunningProjection {
    const projection = this.r.projections.find((p) => p.name === name);
    if (!projection)
      throw notFound(
        name,
        this.r.projections.map((p) => p.name),
      );
    return projection;
  }

  private isGenerations(projection: RunningProjection): boolean {
    return projection instanceof ProjectionRunner;
  }

  /** Every projection's status, in registration order. */
  async projections(): Promise<ProjectionDto[]> {
    return Promise.all(this.r.projections.map((p) => this.describe(p)));
  }

  async projection(name: string): Promise<ProjectionDto> {
    return this.describe(this.find(name));
  }

  /** Records the pause; every instance stops its consumer (between batches) on its next check. */
  async setPaused(name: string, paused: boolean, by: string): Promise<ProjectionDto> {
    const projection = this.find(name);
    await this.controls.setPaused(name, paused, by);
    return this.describe(projection);
  }

  private async describe(projection: RunningProjection): Promise<ProjectionDto> {
    const status = projection.status();
    const generations = this.isGenerations(projection);
    const stream = this.streams.get(projection.name);
    const topics = generations ? this.r.config.PROJECTOR_TOPICS : [...(stream?.topics ?? [])];
    const problems: string[] = [];
    const control = await this.controls.get(projection.name).catch((error: Error) => {
      problems.push(error.message);
      return undefined;
    });
    const base = {
      name: projection.name,
      kind: generations ? ('generations' as const) : ('stream' as const),
      state: control?.paused ? ('paused' as const) : status.running ? ('running' as const) : ('stopped' as const),
      activeGeneration: status.generation,
      groupId: status.groupId,
      members: null as number | null,
      topics,
      deadLetterTopics: topics.map((t) => `${t}.dlq`),
      partitions: [] as ProjectionDto['partitions'],
      totalLag: 0,
      parked: { records: generations ? 0 : null, streams: 0 } as ProjectionDto['parked'],
      controlledBy: control?.changedBy ?? null,
      controlledAt: iso(control?.changedAt),
    };
    if (status.problem && !control?.paused) problems.push(status.problem);
    try {
      if (generations) {
        const s = await (await this.connected()).status();
        Object.assign(base, {
          activeGeneration: s.activeGeneration,
          groupId: s.groupId,
          members: s.members,
          totalLag: s.totalLag,
          partitions: s.partitions.map((p) => ({
            ...partition(p),
            lastAppliedOffset: p.lastAppliedOffset,
            appliedAt: iso(p.appliedAt),
          })),
          parked: { records: s.parked.reduce((n, p) => n + p.count, 0), streams: s.parked.length },
        });
      } else {
        const lags = await projection.lag();
        await this.connected();
        const [groups, blocked] = await Promise.all([
          this.admin.describeGroups([status.groupId ?? stream?.groupId ?? projection.name]),
          stream ? this.blockedStreams(projection.name, stream.checkpointTable) : 0,
        ]);
        Object.assign(base, {
          members: groups.groups[0]?.members.length ?? 0,
          totalLag: totalLag(lags),
          partitions: lags.map((p) => ({ ...partition(p), lastAppliedOffset: null, appliedAt: null })),
          parked: { records: null, streams: blocked },
        });
      }
    } catch (error) {
      problems.push((error as Error).message);
    }
    return { ...base, problem: problems.length > 0 ? problems.join('; ') : null };
  }

  private async blockedStreams(name: string, checkpointTable: string): Promise<number> {
    const { rows } = await this.r.pool.query<{ count: string }>(
      `SELECT count(*) AS count FROM ${sqlIdentifier(checkpointTable)} WHERE projection = $1 AND parked_version IS NOT NULL`,
      [name],
    );
    return Number(rows[0]?.count ?? 0);
  }

  // --- rebuilds -------------------------------------------------------------

  /**
   * Starts a rebuild in the background and answers at once; at most one at a time (here, or
   * anywhere: a rebuild that reported to `projection_rebuilds` in the last 30 s counts). What
   * fails later (the owner role refused, the store unreadable) shows as `state: failed`.
   */
  async startRebuild(name: string, source: 'store' | 'kafka'): Promise<RebuildDto> {
    const projection = this.find(name);
    if (!this.isGenerations(projection))
      throw streamUnsupported(
        name,
        'it has no generations to rebuild into; stop the projectors and run `projector reset`',
      );
    if (!this.r.ownerPool)
      throw new DomainError(
        'REBUILD_NOT_ENABLED',
        'conflict',
        'This projector holds no owner role for the read database, which a rebuild needs (DDL): set ADMIN_REBUILD_DATABASE_URL, or rebuild with the CLI (`projector rebuild`)',
      );
    const running = [...this.rebuilds.values()].find((j) => j.state === 'running');
    if (running)
      throw new DomainError(
        'REBUILD_RUNNING',
        'conflict',
        `A rebuild of "${running.projection}" is running (${running.id})`,
      );
    const elsewhere = (await new RebuildProgressStore(this.r.pool).running()).find(
      (r) => r.silentForMs < REBUILD_SILENCE_MS,
    );
    if (elsewhere)
      throw new DomainError(
        'REBUILD_RUNNING',
        'conflict',
        `Generation ${elsewhere.generation} is being rebuilt by ${elsewhere.runner ?? 'another process'}`,
      );
    const operations = await this.connected();
    const job: RebuildJob = {
      id: randomUUID(),
      projection: name,
      source,
      state: 'running',
      progress: undefined,
      startedAt: new Date(),
      finishedAt: null,
      report: null,
      error: null,
      abort: new AbortController(),
      done: Promise.resolve(),
    };
    job.done = operations
      .rebuild({
        source,
        eventStore: source === 'store' ? this.r.eventStore : undefined,
        signal: job.abort.signal,
        onProgress: (p) => (job.progress = p),
      })
      .then(
        (report) => void Object.assign(job, { state: 'succeeded', report, finishedAt: new Date() }),
        (error: unknown) => {
          this.r.logger.warn({ err: error }, 'rebuild stopped');
          Object.assign(job, {
            state: job.abort.signal.aborted ? 'cancelled' : 'failed',
            error: (error as Error).message,
            finishedAt: new Date(),
          });
        },
      );
    this.rebuilds.set(name, job);
    return this.rebuildDto(job);
  }

  /** This instance's rebuild of `name`, or the last one recorded (by the CLI or another replica). */
  async currentRebuild(name: string): Promise<RebuildDto> {
    const projection = this.find(name);
    if (!this.isGenerations(projection)) throw streamUnsupported(name, 'it has no rebuilds (it is reset, not rebuilt)');
    const job = this.rebuilds.get(name);
    if (job) return this.rebuildDto(job);
    const record = await new RebuildProgressStore(this.r.pool).latest();
    if (!record) throw new DomainError('REBUILD_NOT_FOUND', 'not_found', `"${name}" has not been rebuilt yet`);
    return recordDto(name, record);
  }

  /** Cancels this instance's running rebuild and waits (a few seconds at most) until it stopped. */
  async cancelRebuild(name: string): Promise<RebuildDto> {
    const current = await this.currentRebuild(name);
    const job = this.rebuilds.get(name);
    if (current.state !== 'running')
      throw new DomainError('REBUILD_NOT_RUNNING', 'conflict', `The last rebuild of "${name}" is ${current.state}`);
    if (!job)
      throw new DomainError(
        'REBUILD_ELSEWHERE',
        'conflict',
        `The rebuild runs in ${current.runner ?? 'another process'}, not in this instance; stop it there`,
      );
    job.abort.abort();
    await Promise.race([job.done, new Promise((r) => setTimeout(r, 10_000).unref())]);
    return this.rebuildDto(job);
  }

  private rebuildDto(job: RebuildJob): RebuildDto {
    const p = job.progress;
    return {
      id: job.id,
      projection: job.projection,
      generation: job.report?.generation ?? p?.generation ?? null,
      source: job.source,
      state: job.state,
      phase: job.state === 'succeeded' ? 'done' : (p?.phase ?? 'starting'),
      eventsDone: job.report?.events ?? p?.eventsDone ?? 0,
      eventsExpected: job.report?.events ?? p?.eventsExpected ?? null,
      eventsPerSecond: job.report?.eventsPerSecond ?? p?.eventsPerSecond ?? 0,
      etaMs: job.state === 'running' ? (p?.etaMs ?? null) : job.state === 'succeeded' ? 0 : null,
      startedAt: job.startedAt.toISOString(),
      finishedAt: iso(job.finishedAt),
      runner: null,
      report: job.report ? reportDto(job.report) : null,
      error: job.error,
    };
  }

  // --- dead letters ---------------------------------------------------------

  /** Parked records of the tasks projection (stream projections park on their `.dlq` topics only). */
  async deadLetters(query: { projection?: string; streamId?: string; limit?: number }): Promise<DeadLetterDto[]> {
    const name = query.projection ?? this.tasksName();
    const projection = this.find(name);
    if (!this.isGenerations(projection))
      throw streamUnsupported(
        name,
        `its parked records are on the dead-letter topics (${[...(this.streams.get(name)?.topics ?? [])].map((t) => `${t}.dlq`).join(', ')}), not in the read database; read them with a Kafka consumer`,
      );
    const records = await this.operations.listDeadLetters({ streamId: query.streamId, limit: query.limit ?? 100 });
    return records.map((r) => deadLetterDto(name, r));
  }

  async deadLetter(id: number): Promise<DeadLetterDetailDto> {
    const r = await this.operations.showDeadLetter(id);
    return {
      ...deadLetterDto(this.tasksName(), r),
      key: r.key?.toString('utf8') ?? null,
      value: r.value?.toString('base64') ?? null,
      headers: r.headers,
    };
  }

  /** @param value a corrected value for the record (the CLI's `--value-file`), kept for rebuilds too */
  async redrive(id: number, value?: Buffer) {
    const result = await this.operations.redriveOne(id, value);
    return {
      streamId: result.streamId,
      released: result.released,
      stillParked: result.stillParked,
      error: result.error ?? null,
    };
  }

  async discard(id: number) {
    return this.operations.discardDeadLetter(id);
  }

  private tasksName(): string {
    return this.r.projections.find((p) => this.isGenerations(p))?.name ?? 'tasks';
  }

  // --- reconciliation -------------------------------------------------------

  /** Starts a reconciliation in the background (one at a time per instance). */
  startReconciliation(options: { repair?: boolean; settleMs?: number }): ReconciliationDto {
    if (this.reconciliation?.state === 'running')
      throw new DomainError(
        'RECONCILIATION_RUNNING',
        'conflict',
        `Reconciliation ${this.reconciliation.id} is running`,
      );
    const job: ReconciliationJob = {
      id: randomUUID(),
      repair: !!options.repair,
      state: 'running',
      phase: 'starting',
      startedAt: new Date(),
      finishedAt: null,
      report: null,
      error: null,
      done: Promise.resolve(),
    };
    job.done = reconcileWithConfig(
      this.r.config,
      { repair: job.repair, settleMs: options.settleMs, onProgress: (p) => (job.phase = p.phase) },
      this.r.logger,
    ).then(
      (report) => void Object.assign(job, { state: 'succeeded', report, phase: null, finishedAt: new Date() }),
      (error: unknown) =>
        void Object.assign(job, {
          state: 'failed',
          error: (error as Error).message,
          phase: null,
          finishedAt: new Date(),
        }),
    );
    this.reconciliation = job;
    return reconciliationDto(job);
  }

  latestReconciliation(): ReconciliationDto {
    if (!this.reconciliation)
      throw new DomainError(
        'RECONCILIATION_NOT_FOUND',
        'not_found',
        'No reconciliation has run on this instance since it started; POST /admin/cqrs/reconciliations runs one',
      );
    return reconciliationDto(this.reconciliation);
  }

  // --- relay ----------------------------------------------------------------

  relay(): Promise<RelayStatus> {
    return readRelayStatus(this.r.eventStore, this.r.config.OUTBOX_SLOT_NAME);
  }
}

const partition = (p: PartitionLag) => ({
  topic: p.topic,
  partition: p.partition,
  committedOffset: p.committedOffset,
  highWatermark: p.highWatermark,
  lag: p.lag,
});

const deadLetterDto = (projection: string, r: ParkedEventInfo): DeadLetterDto => ({
  id: r.id,
  projection,
  topic: r.sourceTopic,
  partition: r.sourcePartition,
  offset: r.sourceOffset,
  streamId: r.streamId,
  aggregateVersion: r.aggregateVersion,
  eventType: r.eventType,
  reason: r.reason,
  errorCode: r.errorCode,
  errorMessage: r.errorMessage,
  attempts: r.attempts,
  firstFailedAt: r.firstFailedAt.toISOString(),
  parkedAt: r.parkedAt.toISOString(),
  lastAttemptAt: r.lastAttemptAt.toISOString(),
  traceId: r.traceId,
});

const reportDto = (r: RebuildReport): RebuildReportDto => ({
  generation: r.generation,
  previous: r.previous,
  source: r.source,
  resumed: r.resumed,
  events: r.events,
  durationMs: r.durationMs,
  eventsPerSecond: r.eventsPerSecond,
  kafkaRecordsAfterSnapshot: r.kafkaRecordsAfterSnapshot ?? null,
  dropped: r.dropped,
  handedOff: r.handedOff,
});

const RECORD_PHASES = new Set<string>(REBUILD_PHASES);

/** A rebuild this instance does not run, as `projection_rebuilds` recorded it. */
function recordDto(projection: string, r: RebuildRecord): RebuildDto {
  const silent = Date.now() - r.updatedAt.getTime() > REBUILD_SILENCE_MS;
  const state: RebuildDto['state'] =
    r.status === 'done'
      ? 'succeeded'
      : r.status === 'running'
        ? silent
          ? 'failed'
          : 'running'
        : r.status === 'failed'
          ? 'failed'
          : 'cancelled';
  return {
    id: `record-${r.id}`,
    projection,
    generation: r.generation,
    source: r.source,
    state,
    phase: (RECORD_PHASES.has(r.phase) ? r.phase : 'starting') as RebuildDto['phase'],
    eventsDone: r.eventsDone,
    eventsExpected: r.eventsExpected,
    eventsPerSecond: r.eventsPerSecond,
    etaMs: null,
    startedAt: r.startedAt.toISOString(),
    finishedAt: iso(r.finishedAt),
    runner: r.runner,
    report: null,
    error: r.error ?? (state === 'failed' && r.status === 'running' ? 'its runner stopped reporting' : null),
  };
}

function reconciliationDto(job: ReconciliationJob): ReconciliationDto {
  return {
    id: job.id,
    state: job.state,
    repair: job.repair,
    startedAt: job.startedAt.toISOString(),
    finishedAt: iso(job.finishedAt),
    phase: job.phase,
    report: job.report ? reconcileReportDto(job.report) : null,
    error: job.error,
  };
}

function reconcileReportDto(r: ReconcileReport): ReconcileReportDto {
  const difference = (d: ReconcileReport['differences'][number]) => ({
    kind: d.kind,
    side: d.side,
    streamId: d.streamId ?? null,
    ownerId: d.ownerId ?? null,
    field: d.field,
    found: d.found,
    store: d.store,
  });
  return {
    ok: r.ok,
    summary: { ...r.summary, differencesByKind: { ...r.summary.differencesByKind } as Record<string, number> },
    differences: r.differences.map(difference),
    found: r.found ? r.found.map(difference) : null,
    repair: r.repair ?? null,
    notes: r.notes,
    advice: r.advice,
  };
}
