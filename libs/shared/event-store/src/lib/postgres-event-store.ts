import { cqrsMetric, withSpan } from '@cqrs/observability';
import { NO_UPCASTERS, type EventEnvelope, type UpcasterChain } from '@cqrs/util';
import type { DataSource } from 'typeorm';
import { Appender } from './append/append';
import { MAX_APPEND_BATCH } from './append/append-call';
import {
  archiveStreams,
  eventStoreSize,
  type ArchiveStreamsOptions,
  type ArchiveStreamsResult,
  type EventStoreSize,
} from './archive';
import { ConcurrencyError } from './event-store.errors';
import type {
  AggregateOptions,
  AggregateResult,
  AppendOptions,
  AppendResult,
  IdempotencyOptions,
  NewEvent,
  RecordedEvent,
  StoredResponse,
} from './event-store.types';
import { findIdempotentResponse, purgeExpiredIdempotencyKeys } from './idempotency';
import { loadStream, readStream, streamVersion } from './load';
import {
  pruneSnapshots,
  snapshotStats,
  takeSnapshot,
  type PruneSnapshotsOptions,
  type PruneSnapshotsResult,
  type SnapshotStats,
  type TakeSnapshotOptions,
  type TakeSnapshotResult,
} from './snapshots';
import { Sql, unavailableOrRethrow } from './sql';

export { AppendFailedError } from './append/append-call';

/** Options of {@link PostgresEventStore}. */
export interface EventStoreOptions {
  /** Write a snapshot once this many events accumulated since the last one; 0 disables. @default 100 */
  snapshotEvery?: number;
  /**
   * Delete outbox rows in the transaction that inserted them. The WAL still carries the insert
   * for CDC, and the table stays empty instead of growing forever. @default true
   */
  deleteOutboxRows?: boolean;
  /** How long an idempotency key is remembered. @default 86_400_000 (24 h) */
  idempotencyTtlMs?: number;
  /**
   * Run the hot statements as named prepared statements, planned once per connection (planning
   * the append statement costs more than executing it). Turn off behind a pooler that cannot
   * keep prepared statements (PgBouncer in transaction mode before 1.21). @default true
   */
  preparedStatements?: boolean;
  /**
   * Group commit: at most this many append calls are in flight at once; appends arriving
   * meanwhile queue and go together in the next call (one round trip, one commit), each in its own
   * subtransaction. A lone append is sent at once, so this costs no latency when idle. Each call
   * holds one pooled connection: keep it below the pool size. 0 sends every append on its own.
   * Appends with an idempotency key always go alone. @default 4
   */
  appendsInFlight?: number;
  /** Most appends per group-commit call (at most 60, see the batch function's migration). @default 32 */
  maxAppendBatch?: number;
  /**
   * Most appends waiting for a group-commit call. One more is shed at once with
   * {@link EventStoreUnavailableError} (503, Retry-After) instead of waiting behind a backlog the
   * database is not draining; 1,024 is about eight rounds of `appendsInFlight` full batches at
   * the defaults. @default 1024
   */
  maxQueuedAppends?: number;
  /**
   * Lifts stored events of older shapes (`schema_version`) to the current ones on every read
   * (loads, `readStream`, `takeSnapshot`), e.g. the domain's `taskUpcasters`. @default NO_UPCASTERS
   */
  upcasters?: UpcasterChain;
}

/** Reads and appends event streams; the port the command side depends on. */
export interface EventStore {
  /**
   * Every event of a stream in version order (archived ones included), optionally only those
   * after `afterVersion`, upcast to the current shape (`schemaVersion` says which).
   */
  readStream<E extends EventEnvelope = EventEnvelope>(
    streamId: string,
    options?: { afterVersion?: number },
  ): Promise<RecordedEvent<E>[]>;
  /** Folds a stream into state, starting from its newest usable snapshot, upcasting each event. */
  aggregateStream<S, E extends EventEnvelope>(
    streamId: string,
    options: AggregateOptions<S, E>,
  ): Promise<AggregateResult<S>>;
  /**
   * Appends events at `expectedVersion + 1 …` together with their outbox rows, a due snapshot
   * and the idempotency record, in one transaction. Throws {@link ConcurrencyError} when the
   * stream is not at `expectedVersion` (or another writer gets there first).
   */
  appendToStream<E extends EventEnvelope>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options: AppendOptions<E>,
  ): Promise<AppendResult>;
  /** The stream's current version (an archived stream's included), 0 if it has no events. */
  streamVersion(streamId: string): Promise<number>;
  /**
   * The remembered response for an unexpired idempotency key, `undefined` if there is none.
   * Throws {@link IdempotencyKeyReusedError} when the key was used for a different request.
   */
  findIdempotentResponse(options: IdempotencyOptions): Promise<StoredResponse | undefined>;
  /** Deletes expired idempotency keys in batches; returns how many were deleted. */
  purgeExpiredIdempotencyKeys(options?: { batchSize?: number }): Promise<number>;
}

/** Upkeep of the store: snapshots and archiving (operators, schedules), not the command path. */
export interface EventStoreMaintenance {
  /** See {@link PruneSnapshotsOptions}; needs DELETE on `snapshots` (the command role has it). */
  pruneSnapshots(options?: PruneSnapshotsOptions): Promise<PruneSnapshotsResult>;
  snapshotStats(): Promise<SnapshotStats>;
  /** Folds the whole stream from its events and inserts a snapshot at its current version. */
  takeSnapshot<S, E extends EventEnvelope>(
    streamId: string,
    options: TakeSnapshotOptions<S, E>,
  ): Promise<TakeSnapshotResult>;
  /** Moves cold streams to `events_archive`; needs a store on the owner role's connection. */
  archiveStreams(options: ArchiveStreamsOptions): Promise<ArchiveStreamsResult>;
  /** Sizes of `events`, `events_archive` and `snapshots`. */
  size(): Promise<EventStoreSize>;
}

const conflicts = cqrsMetric('event_store_conflicts_total');
const snapshotsCreated = cqrsMetric('event_snapshots_created_total');
const replayDuration = cqrsMetric('event_replay_duration_seconds');

/**
 * The event store on PostgreSQL (tables from the event-store migrations), through a TypeORM
 * DataSource: one statement per append (or per group of appends), one per load. The work is in
 * `append/` (single appends, group commit), `load`, `idempotency`, `snapshots` and `archive`;
 * this class holds the options, spans and metrics.
 */
export class PostgresEventStore implements EventStore, EventStoreMaintenance {
  private readonly sql: Sql;
  private readonly upcasters: UpcasterChain;
  private readonly appender: Appender;

  constructor(dataSource: DataSource, options: EventStoreOptions = {}) {
    const settings = {
      snapshotEvery: options.snapshotEvery ?? 100,
      deleteOutboxRows: options.deleteOutboxRows ?? true,
      idempotencyTtlMs: options.idempotencyTtlMs ?? 86_400_000,
      appendsInFlight: options.appendsInFlight ?? 4,
      maxAppendBatch: options.maxAppendBatch ?? 32,
      maxQueuedAppends: options.maxQueuedAppends ?? 1024,
    };
    if (!Number.isInteger(settings.appendsInFlight) || settings.appendsInFlight < 0) {
      throw new RangeError(`appendsInFlight must be a non-negative integer, got ${options.appendsInFlight}`);
    }
    if (
      !Number.isInteger(settings.maxAppendBatch) ||
      settings.maxAppendBatch < 1 ||
      settings.maxAppendBatch > MAX_APPEND_BATCH
    ) {
      throw new RangeError(
        `maxAppendBatch must be an integer from 1 to ${MAX_APPEND_BATCH}, got ${options.maxAppendBatch}`,
      );
    }
    if (!Number.isInteger(settings.maxQueuedAppends) || settings.maxQueuedAppends < 1) {
      throw new RangeError(`maxQueuedAppends must be a positive integer, got ${options.maxQueuedAppends}`);
    }
    if (!Number.isInteger(settings.snapshotEvery) || settings.snapshotEvery < 0) {
      throw new RangeError(`snapshotEvery must be a non-negative integer, got ${options.snapshotEvery}`);
    }
    this.sql = new Sql(dataSource, options.preparedStatements ?? true);
    this.upcasters = options.upcasters ?? NO_UPCASTERS;
    this.appender = new Appender(this.sql, settings, (streamId) => this.streamVersion(streamId));
  }

  readStream<E extends EventEnvelope = EventEnvelope>(
    streamId: string,
    options: { afterVersion?: number } = {},
  ): Promise<RecordedEvent<E>[]> {
    return readStream<E>(this.sql, this.upcasters, streamId, options.afterVersion ?? 0);
  }

  aggregateStream<S, E extends EventEnvelope>(
    streamId: string,
    options: AggregateOptions<S, E>,
  ): Promise<AggregateResult<S>> {
    return withSpan(
      'event_store.load',
      async (span) => {
        const started = performance.now();
        const result = await loadStream(this.sql, this.upcasters, streamId, options).catch(unavailableOrRethrow);
        replayDuration.observe(
          { from_snapshot: String(result.snapshotVersion > 0) },
          (performance.now() - started) / 1000,
        );
        span.setAttributes({
          'cqrs.stream.version': result.version,
          'cqrs.stream.snapshot_version': result.snapshotVersion,
        });
        return result;
      },
      { attributes: { 'cqrs.stream.id': streamId } },
    );
  }

  appendToStream<E extends EventEnvelope>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options: AppendOptions<E>,
  ): Promise<AppendResult> {
    const attributes = {
      'cqrs.stream.id': streamId,
      'cqrs.stream.type': options.streamType,
      'cqrs.stream.expected_version': options.expectedVersion,
      'cqrs.events.count': events.length,
    };
    // The span covers encoding and the transaction (whose statements are the pg instrumentation's spans).
    return withSpan(
      'event_store.append',
      async (span) => {
        try {
          const result = await this.appender.append(streamId, events, options);
          if (result.snapshotWritten) snapshotsCreated.inc({ stream_type: options.streamType });
          span.setAttribute('cqrs.snapshot.written', result.snapshotWritten);
          return result;
        } catch (error) {
          if (error instanceof ConcurrencyError) conflicts.inc({ stream_type: options.streamType });
          return unavailableOrRethrow(error);
        }
      },
      { attributes },
    );
  }

  streamVersion(streamId: string): Promise<number> {
    return streamVersion(this.sql, streamId);
  }

  findIdempotentResponse(options: IdempotencyOptions): Promise<StoredResponse | undefined> {
    return findIdempotentResponse(this.sql, options);
  }

  purgeExpiredIdempotencyKeys({ batchSize = 10_000 }: { batchSize?: number } = {}): Promise<number> {
    return purgeExpiredIdempotencyKeys(this.sql, batchSize);
  }

  pruneSnapshots(options?: PruneSnapshotsOptions): Promise<PruneSnapshotsResult> {
    return pruneSnapshots(this.sql, options);
  }

  snapshotStats(): Promise<SnapshotStats> {
    return snapshotStats(this.sql);
  }

  takeSnapshot<S, E extends EventEnvelope>(
    streamId: string,
    options: TakeSnapshotOptions<S, E>,
  ): Promise<TakeSnapshotResult> {
    return takeSnapshot(this.sql, this.upcasters, streamId, options);
  }

  archiveStreams(options: ArchiveStreamsOptions): Promise<ArchiveStreamsResult> {
    return archiveStreams(this.sql, options);
  }

  size(): Promise<EventStoreSize> {
    return eventStoreSize(this.sql);
  }
}
