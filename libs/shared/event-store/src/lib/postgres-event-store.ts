import { randomUUID } from 'node:crypto';
import { cqrsMetric, withSpan } from '@cqrs/observability';
import type { EventEnvelope } from '@cqrs/util';
import { DatabaseError, type ClientBase, type Pool } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import { ConcurrencyError, EventStoreUnavailableError, IdempotencyKeyInUseError, IdempotencyKeyReusedError } from './event-store.errors';
import type {
  AggregateOptions,
  AggregateResult,
  AppendOptions,
  AppendResult,
  EventMetadata,
  IdempotencyOptions,
  NewEvent,
  RecordedEvent,
  StoredResponse,
} from './event-store.types';
import { isSnapshotDue } from './snapshot-policy';
import { APPEND_BATCH_FUNCTION, APPEND_FUNCTION } from './migrations';

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
}

/** Reads and appends event streams; the port the command side depends on. */
export interface EventStore {
  /** Every event of a stream in version order, optionally only those after `afterVersion`. */
  readStream<E extends EventEnvelope = EventEnvelope>(
    streamId: string,
    options?: { afterVersion?: number },
  ): Promise<RecordedEvent<E>[]>;
  /** Folds a stream into state, starting from its newest usable snapshot. */
  aggregateStream<S, E extends EventEnvelope>(streamId: string, options: AggregateOptions<S, E>): Promise<AggregateResult<S>>;
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
  /** The stream's current version, 0 if it has no events. */
  streamVersion(streamId: string): Promise<number>;
  /**
   * The remembered response for an unexpired idempotency key, `undefined` if there is none.
   * Throws {@link IdempotencyKeyReusedError} when the key was used for a different request.
   */
  findIdempotentResponse(options: IdempotencyOptions): Promise<StoredResponse | undefined>;
  /** Deletes expired idempotency keys in batches; returns how many were deleted. */
  purgeExpiredIdempotencyKeys(options?: { batchSize?: number }): Promise<number>;
}

const UNIQUE_VIOLATION = '23505';
const STREAM_VERSION_KEY = 'events_stream_id_version_key';

/** A fixed statement of the store; `name` identifies it as a prepared statement. */
interface Statement {
  name: string;
  text: string;
}
// The whole append (events, outbox rows and their deletion, a due snapshot) is one call of the
// function the migrations create: one round trip, atomic on its own (see its migration).
const APPEND: Statement = {
  name: 'cqrs_es_append_v2',
  text: `SELECT global_position, version FROM ${APPEND_FUNCTION}($1, $2, $3, $4::jsonb, $5::uuid[], $6::text[], $7::int[], $8::jsonb[], $9::bytea[], $10, $11, $12, $13, $14, $15, $16, $17::jsonb)`,
};
const APPEND_BATCH: Statement = {
  name: 'cqrs_es_append_batch_v1',
  text: `SELECT append_index, global_positions, error_code, error_message, error_constraint FROM ${APPEND_BATCH_FUNCTION}(
    $1::text[], $2::text[], $3::bigint[], $4::jsonb[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
    $11::int[], $12::jsonb[], $13::uuid[], $14::text[], $15::int[], $16::jsonb[], $17::bytea[], $18)`,
};
const MAX_APPEND_BATCH = 60;

/** One append's arguments, as the append functions take them. */
interface AppendCall {
  streamId: string;
  streamType: string;
  expectedVersion: number;
  /** JSON */
  metadata: string;
  eventIds: string[];
  types: string[];
  schemaVersions: number[];
  /** JSON, one per event */
  data: string[];
  /** null: no outbox rows */
  payloads: Buffer[] | null;
  aggregateType: string | null;
  aggregateId: string;
  traceparent: string | null;
  tracestate: string | null;
  correlationId: string | null;
  snapshotSchemaVersion: number | null;
  /** JSON; null when no snapshot is due */
  snapshotState: string | null;
}

/** {@link APPEND}'s parameters. */
const appendParams = (c: AppendCall, deleteOutbox: boolean): unknown[] => [
  c.streamId, c.streamType, c.expectedVersion, c.metadata, c.eventIds, c.types, c.schemaVersions, c.data, c.payloads,
  c.aggregateType, c.aggregateId, c.traceparent, c.tracestate, c.correlationId, deleteOutbox, c.snapshotSchemaVersion, c.snapshotState,
];

/** {@link APPEND_BATCH}'s parameters: one array element per append, or per event for the event columns. */
const appendBatchParams = (calls: AppendCall[], deleteOutbox: boolean): unknown[] => {
  const each = <T>(field: (c: AppendCall) => T) => calls.map(field);
  const perEvent = (field: (c: AppendCall) => readonly unknown[] | null): unknown[] =>
    calls.flatMap((c) => field(c) ?? Array<null>(c.eventIds.length).fill(null));
  return [
    each((c) => c.streamId), each((c) => c.streamType), each((c) => c.expectedVersion), each((c) => c.metadata),
    each((c) => c.eventIds.length), each((c) => c.aggregateType), each((c) => c.aggregateId), each((c) => c.traceparent),
    each((c) => c.tracestate), each((c) => c.correlationId), each((c) => c.snapshotSchemaVersion), each((c) => c.snapshotState),
    perEvent((c) => c.eventIds), perEvent((c) => c.types), perEvent((c) => c.schemaVersions), perEvent((c) => c.data),
    perEvent((c) => c.payloads), deleteOutbox,
  ];
};

/** One append waiting for a group-commit call. */
interface QueuedAppend {
  call: AppendCall;
  resolve(outcome: BatchOutcome): void;
  reject(error: unknown): void;
}
interface BatchOutcome {
  append_index: number;
  global_positions: string[] | null;
  error_code: string | null;
  error_message: string | null;
  error_constraint: string | null;
}

/** An append the database rolled back for a reason other than a lost race (e.g. a trigger raised). */
export class AppendFailedError extends Error {
  constructor(
    message: string,
    /** SQLSTATE, e.g. `P0001` for a RAISE EXCEPTION. */
    readonly code: string,
    readonly constraint?: string,
  ) {
    super(message);
    this.name = 'AppendFailedError';
  }
}

const STREAM_VERSION: Statement = {
  name: 'cqrs_es_stream_version_v1',
  text: 'SELECT coalesce(max(version), 0) AS version FROM events WHERE stream_id = $1',
};
const FIND_IDEMPOTENCY_KEY: Statement = {
  name: 'cqrs_es_find_idempotency_key_v1',
  text: `SELECT request_hash, response, stream_id, stream_version FROM idempotency_keys
         WHERE scope = $1 AND key = $2 AND expires_at > now()`,
};

// Only a snapshot of the caller's state schema version is usable (a NULL version matches none).
// Its row has type NULL; the events after it come in version order from the unique index. There
// is no outer ORDER BY: sorting 10,000 rows in PostgreSQL cost more than the round trip saved,
// and aggregateStream checks the order itself.
const LOAD: Statement = { name: 'cqrs_es_load_v1', text: `
  WITH snapshot AS (
    SELECT version, state FROM snapshots WHERE stream_id = $1 AND state_schema_version = $2
  )
  SELECT version, NULL::text AS type, state AS data FROM snapshot
  UNION ALL
  (SELECT version, type, data FROM events
   WHERE stream_id = $1 AND version > coalesce((SELECT version FROM snapshot), 0)
   ORDER BY version)` };

// An expired key may be taken over; a live one (committed by a concurrent duplicate) returns no row.
const SAVE_IDEMPOTENCY_KEY: Statement = { name: 'cqrs_es_save_idempotency_key_v1', text: `
  INSERT INTO idempotency_keys (scope, key, request_hash, response, stream_id, stream_version, expires_at)
  VALUES ($1, $2, $3, $4::jsonb, $5, $6, now() + $7::bigint * interval '1 millisecond')
  ON CONFLICT (scope, key) DO UPDATE
    SET request_hash = EXCLUDED.request_hash, response = EXCLUDED.response, stream_id = EXCLUDED.stream_id,
        stream_version = EXCLUDED.stream_version, created_at = now(), expires_at = EXCLUDED.expires_at
    WHERE idempotency_keys.expires_at <= now()
  RETURNING 1` };

const conflicts = cqrsMetric('event_store_conflicts_total');
const snapshotsCreated = cqrsMetric('event_snapshots_created_total');
const replayDuration = cqrsMetric('event_replay_duration_seconds');

interface EventRow {
  global_position: string;
  event_id: string;
  stream_id: string;
  stream_type: string;
  version: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: EventMetadata;
  recorded_at: Date;
}

/**
 * The event store on PostgreSQL (tables from the event-store migrations), through a TypeORM
 * DataSource: one multi-row statement per append, one query each for snapshot and tail on load.
 */
export class PostgresEventStore implements EventStore {
  private readonly snapshotEvery: number;
  private readonly deleteOutboxRows: boolean;
  private readonly idempotencyTtlMs: number;
  private readonly preparedStatements: boolean;
  private readonly appendsInFlight: number;
  private readonly maxAppendBatch: number;
  private readonly maxQueuedAppends: number;
  private readonly queued: QueuedAppend[] = [];
  private inFlight = 0;

  constructor(
    private readonly dataSource: DataSource,
    options: EventStoreOptions = {},
  ) {
    this.snapshotEvery = options.snapshotEvery ?? 100;
    this.deleteOutboxRows = options.deleteOutboxRows ?? true;
    this.idempotencyTtlMs = options.idempotencyTtlMs ?? 86_400_000;
    this.preparedStatements = options.preparedStatements ?? true;
    this.appendsInFlight = options.appendsInFlight ?? 4;
    this.maxAppendBatch = options.maxAppendBatch ?? 32;
    this.maxQueuedAppends = options.maxQueuedAppends ?? 1024;
    if (!Number.isInteger(this.appendsInFlight) || this.appendsInFlight < 0) {
      throw new RangeError(`appendsInFlight must be a non-negative integer, got ${options.appendsInFlight}`);
    }
    if (!Number.isInteger(this.maxAppendBatch) || this.maxAppendBatch < 1 || this.maxAppendBatch > MAX_APPEND_BATCH) {
      throw new RangeError(`maxAppendBatch must be an integer from 1 to ${MAX_APPEND_BATCH}, got ${options.maxAppendBatch}`);
    }
    if (!Number.isInteger(this.maxQueuedAppends) || this.maxQueuedAppends < 1) {
      throw new RangeError(`maxQueuedAppends must be a positive integer, got ${options.maxQueuedAppends}`);
    }
    if (!Number.isInteger(this.snapshotEvery) || this.snapshotEvery < 0) {
      throw new RangeError(`snapshotEvery must be a non-negative integer, got ${options.snapshotEvery}`);
    }
  }

  async readStream<E extends EventEnvelope = EventEnvelope>(
    streamId: string,
    options: { afterVersion?: number } = {},
  ): Promise<RecordedEvent<E>[]> {
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT global_position, event_id, stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at
       FROM events WHERE stream_id = $1 AND version > $2 ORDER BY version`,
      [streamId, options.afterVersion ?? 0],
    );
    return rows.map(
      (row) =>
        ({
          type: row.type,
          data: row.data,
          globalPosition: Number(row.global_position),
          eventId: row.event_id,
          streamId: row.stream_id,
          streamType: row.stream_type,
          version: Number(row.version),
          schemaVersion: row.schema_version,
          metadata: row.metadata,
          recordedAt: row.recorded_at,
        }) as RecordedEvent<E>,
    );
  }

  aggregateStream<S, E extends EventEnvelope>(streamId: string, options: AggregateOptions<S, E>): Promise<AggregateResult<S>> {
    return withSpan('event_store.load', async (span) => {
      const started = performance.now();
      const result = await this.load(streamId, options).catch(unavailableOrRethrow);
      replayDuration.observe({ from_snapshot: String(result.snapshotVersion > 0) }, (performance.now() - started) / 1000);
      span.setAttributes({ 'cqrs.stream.version': result.version, 'cqrs.stream.snapshot_version': result.snapshotVersion });
      return result;
    }, { attributes: { 'cqrs.stream.id': streamId } });
  }

  private async load<S, E extends EventEnvelope>(streamId: string, options: AggregateOptions<S, E>): Promise<AggregateResult<S>> {
    // One round trip for the newest usable snapshot (if any) and the events after it.
    const rows = await this.once<LoadRow>(LOAD, [streamId, options.stateSchemaVersion ?? null]);
    let state = options.initialState();
    let snapshotVersion = 0;
    let version = 0;
    for (const row of inVersionOrder(rows)) {
      version = Number(row.version);
      if (row.type === null) {
        state = row.data as S;
        snapshotVersion = version;
      } else {
        state = options.evolve(state, { type: row.type, data: row.data } as E);
      }
    }
    return { state, version, snapshotVersion };
  }

  appendToStream<E extends EventEnvelope>(streamId: string, events: readonly NewEvent<E>[], options: AppendOptions<E>): Promise<AppendResult> {
    const attributes = {
      'cqrs.stream.id': streamId,
      'cqrs.stream.type': options.streamType,
      'cqrs.stream.expected_version': options.expectedVersion,
      'cqrs.events.count': events.length,
    };
    // The span covers encoding and the transaction (whose statements are the pg instrumentation's spans).
    return withSpan('event_store.append', async (span) => {
      try {
        const result = await this.append(streamId, events, options);
        if (result.snapshotWritten) snapshotsCreated.inc({ stream_type: options.streamType });
        span.setAttribute('cqrs.snapshot.written', result.snapshotWritten);
        return result;
      } catch (error) {
        if (error instanceof ConcurrencyError) conflicts.inc({ stream_type: options.streamType });
        return unavailableOrRethrow(error);
      }
    }, { attributes });
  }

  private async append<E extends EventEnvelope>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options: AppendOptions<E>,
  ): Promise<AppendResult> {
    const { expectedVersion, outbox, snapshot, idempotency } = options;
    if (!streamId) throw new TypeError('streamId must be a non-empty string');
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      throw new TypeError(`expectedVersion must be a non-negative integer, got ${expectedVersion}`);
    }
    if (events.length === 0 && !idempotency) {
      return { nextExpectedVersion: expectedVersion, globalPositions: [], eventIds: [], snapshotWritten: false };
    }
    const eventIds = events.map((event) => event.eventId ?? randomUUID());
    const schemaVersions = events.map((event) => event.schemaVersion ?? 1);
    const nextExpectedVersion = expectedVersion + events.length;
    const metadata = options.metadata ?? {};

    // Encoding may call the schema registry: do it before the transaction holds any lock.
    const aggregateId = outbox?.aggregateId ?? streamId;
    const payloads =
      outbox && events.length > 0
        ? await Promise.all(
            events.map((event, i) =>
              outbox.encode({
                event,
                eventId: eventIds[i],
                schemaVersion: schemaVersions[i],
                aggregateType: outbox.aggregateType,
                aggregateId,
                version: expectedVersion + i + 1,
                metadata,
              }),
            ),
          )
        : undefined;

    const snapshotDue =
      snapshot !== undefined && events.length > 0 && isSnapshotDue(nextExpectedVersion, snapshot.lastSnapshotVersion, this.snapshotEvery);
    const call: AppendCall = {
      streamId,
      streamType: options.streamType,
      expectedVersion,
      metadata: JSON.stringify(metadata),
      eventIds,
      types: events.map((event) => event.type),
      schemaVersions,
      data: events.map((event) => JSON.stringify(event.data)),
      payloads: payloads ?? null,
      aggregateType: outbox?.aggregateType ?? null,
      aggregateId,
      traceparent: metadata.traceparent ?? null,
      tracestate: metadata.tracestate ?? null,
      correlationId: metadata.correlationId ?? null,
      snapshotSchemaVersion: snapshotDue ? snapshot.stateSchemaVersion : null,
      snapshotState: snapshotDue ? JSON.stringify(snapshot.state()) : null,
    };
    const done = (globalPositions: number[]): AppendResult => ({ nextExpectedVersion, globalPositions, eventIds, snapshotWritten: snapshotDue });
    // The guard matched nothing: the stream is not at expectedVersion.
    const notAtExpectedVersion = async (version: () => Promise<number>) => new ConcurrencyError(streamId, expectedVersion, await version());
    const positionsOf = (rows: { global_position: string }[]) => rows.map((row) => Number(row.global_position));

    if (!idempotency) {
      if (this.appendsInFlight > 0) return done(await this.appendQueued(call));
      // One statement, its own transaction.
      try {
        const rows = await this.once<{ global_position: string }>(APPEND, appendParams(call, this.deleteOutboxRows));
        if (rows.length !== events.length) throw await notAtExpectedVersion(() => this.streamVersion(streamId));
        return done(positionsOf(rows));
      } catch (error) {
        throw await this.asConflict(error, streamId, expectedVersion, () => this.streamVersion(streamId));
      }
    }

    // The idempotency record must commit with the events, and its response may depend on them.
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      let result = done([]);
      if (events.length > 0) {
        const rows = await this.execute<{ global_position: string }>(runner, APPEND, appendParams(call, this.deleteOutboxRows));
        if (rows.length !== events.length) throw await notAtExpectedVersion(() => this.versionOn(runner, streamId));
        result = done(positionsOf(rows));
      }
      const stored = await this.execute(runner, SAVE_IDEMPOTENCY_KEY, [
        idempotency.scope,
        idempotency.key,
        idempotency.requestHash,
        JSON.stringify(idempotency.response(result) ?? null),
        streamId,
        nextExpectedVersion,
        idempotency.ttlMs ?? this.idempotencyTtlMs,
      ]);
      if (stored.length === 0) throw new IdempotencyKeyInUseError(idempotency.scope, idempotency.key);
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) {
        // A dead connection (e.g. terminated backend) cannot roll back, but its transaction is gone anyway.
        await runner.rollbackTransaction().catch(() => undefined);
      }
      throw await this.asConflict(error, streamId, expectedVersion, () => this.versionOn(runner, streamId));
    } finally {
      await runner.release();
    }
  }

  /** Appends through the group-commit queue; resolves with the events' global positions, or throws as {@link append}. */
  private async appendQueued(call: AppendCall): Promise<number[]> {
    const { streamId, expectedVersion } = call;
    if (this.queued.length >= this.maxQueuedAppends) {
      throw new EventStoreUnavailableError(new Error(`group-commit queue full: ${this.queued.length} appends waiting`));
    }
    const outcome = await new Promise<BatchOutcome>((resolve, reject) => {
      this.queued.push({ call, resolve, reject });
      this.drainQueue();
    });
    if (outcome.error_code !== null) {
      if (outcome.error_code === UNIQUE_VIOLATION && outcome.error_constraint === STREAM_VERSION_KEY) {
        throw new ConcurrencyError(streamId, expectedVersion, await this.streamVersion(streamId).catch(() => undefined), 'conflict');
      }
      throw new AppendFailedError(outcome.error_message ?? 'append failed', outcome.error_code, outcome.error_constraint ?? undefined);
    }
    if (outcome.global_positions === null) {
      // The guard matched nothing: the stream is not at expectedVersion.
      throw new ConcurrencyError(streamId, expectedVersion, await this.streamVersion(streamId));
    }
    return outcome.global_positions.map(Number);
  }

  /** Starts group-commit calls while fewer than `appendsInFlight` are running. */
  private drainQueue(): void {
    while (this.inFlight < this.appendsInFlight && this.queued.length > 0) {
      const batch = this.queued.splice(0, this.maxAppendBatch);
      this.inFlight += 1;
      void this.appendBatch(batch).finally(() => {
        this.inFlight -= 1;
        this.drainQueue();
      });
    }
  }

  private async appendBatch(batch: QueuedAppend[]): Promise<void> {
    const params = appendBatchParams(batch.map((append) => append.call), this.deleteOutboxRows);
    let rows: BatchOutcome[];
    try {
      rows = await this.once<BatchOutcome>(APPEND_BATCH, params);
    } catch (error) {
      // An ErrorResponse from PostgreSQL rolled the call back; anything else may have left it
      // undecided (a connection lost before the commit's answer).
      if (EventStoreUnavailableError.matches(error) || !(error instanceof DatabaseError)) {
        // The database is out of reach (or the call's fate is unknown): every member shares it.
        for (const append of batch) append.reject(error);
      } else if (batch.length > 1) {
        // PostgreSQL refused the call as a whole, before any append ran (e.g. one append's
        // parameters cannot be stored), so nothing of it committed. One by one, only the
        // append that cannot be stored fails; its batch mates are not another caller's victims.
        for (const append of batch) await this.appendBatch([append]);
      } else {
        const { code = 'XX000', message, constraint = null } = error;
        batch[0]?.resolve({ append_index: 1, global_positions: null, error_code: code, error_message: message, error_constraint: constraint });
      }
      return;
    }
    for (const row of rows) batch[row.append_index - 1]?.resolve(row);
    // A settled promise ignores this: only appends left unanswered fail.
    const unanswered = new Error(`append batch answered ${rows.length} of ${batch.length} appends`);
    for (const append of batch) append.reject(unanswered);
  }

  /** A lost race on `(stream_id, version)` as a {@link ConcurrencyError}; any other error as it is. */
  private async asConflict(error: unknown, streamId: string, expectedVersion: number, version: () => Promise<number>): Promise<unknown> {
    if (!isUniqueViolation(error, STREAM_VERSION_KEY)) return error;
    const actual = await version().catch(() => undefined);
    return new ConcurrencyError(streamId, expectedVersion, actual, 'conflict', error);
  }

  async streamVersion(streamId: string): Promise<number> {
    const [row] = await this.once<{ version: string }>(STREAM_VERSION, [streamId]);
    return Number(row.version);
  }

  async findIdempotentResponse({ scope, key, requestHash }: IdempotencyOptions): Promise<StoredResponse | undefined> {
    const [row] = await this.once<{ request_hash: string; response: unknown; stream_id: string; stream_version: string }>(
      FIND_IDEMPOTENCY_KEY,
      [scope, key],
    ).catch(unavailableOrRethrow);
    if (!row) return undefined;
    if (row.request_hash !== requestHash) throw new IdempotencyKeyReusedError(scope, key);
    return { response: row.response, streamId: row.stream_id, streamVersion: Number(row.stream_version) };
  }

  async purgeExpiredIdempotencyKeys({ batchSize = 10_000 }: { batchSize?: number } = {}): Promise<number> {
    let total = 0;
    for (;;) {
      // Batches keep each delete short, so a large backlog never locks the table for long.
      const [, deleted]: [unknown, number] = await this.dataSource.query(
        `DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
           SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT $1))`,
        [batchSize],
      );
      total += deleted;
      if (deleted < batchSize) return total;
    }
  }

  private async versionOn(runner: QueryRunner, streamId: string): Promise<number> {
    const [row] = await this.execute<{ version: string }>(runner, STREAM_VERSION, [streamId]);
    return Number(row.version);
  }

  /** Runs a statement on the runner's connection, prepared (see `preparedStatements`) or not. */
  private async execute<T = unknown>(runner: QueryRunner, statement: Statement, values: unknown[]): Promise<T[]> {
    if (!this.preparedStatements) return runner.query(statement.text, values);
    // TypeORM's query() cannot name a statement; the runner's pg client can.
    const client = (await runner.connect()) as ClientBase;
    return (await client.query({ name: statement.name, text: statement.text, values })).rows as T[];
  }

  /**
   * {@link execute} on a connection borrowed for this one statement: straight from the driver's pg
   * pool when there is one (a query runner per statement costs more CPU than the statement).
   */
  private async once<T = unknown>(statement: Statement, values: unknown[]): Promise<T[]> {
    const pool = (this.dataSource.driver as { master?: Pool }).master;
    if (pool && typeof pool.query === 'function') {
      const config = this.preparedStatements ? { name: statement.name, text: statement.text, values } : { text: statement.text, values };
      return (await pool.query(config)).rows as T[];
    }
    const runner = this.dataSource.createQueryRunner();
    try {
      return await this.execute<T>(runner, statement, values);
    } finally {
      await runner.release();
    }
  }
}

type LoadRow = { version: string; type: string | null; data: unknown };

/**
 * UNION ALL keeps its branches' order in every plan PostgreSQL makes for this query, but SQL does
 * not promise it; a linear check keeps a reordered result from silently corrupting a fold.
 */
function inVersionOrder(rows: LoadRow[]): LoadRow[] {
  for (let i = 1; i < rows.length; i++) {
    if (Number(rows[i].version) <= Number(rows[i - 1].version)) {
      return [...rows].sort((a, b) => Number(a.version) - Number(b.version));
    }
  }
  return rows;
}

/** Rethrows `error`, as an {@link EventStoreUnavailableError} (503) when it means overload or an unreachable database. */
function unavailableOrRethrow(error: unknown): never {
  if (EventStoreUnavailableError.matches(error)) throw new EventStoreUnavailableError(error);
  throw error;
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e.code ?? e.driverError?.code;
  const name = e.constraint ?? e.driverError?.constraint;
  return code === UNIQUE_VIOLATION && name === constraint;
}
