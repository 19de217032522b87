import type { Task, TaskEvent } from '@cqrs/tasks-domain';
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { encodeChangeNotices, TASKS_CHANGED_CHANNEL, type StreamChangedNotice } from '../notifications';
import {
  emptyCounts,
  stateFromView,
  statsDelta,
  taskProjection,
  taskViewFromRow,
  type StatusCounts,
  type TaskViewRow,
} from '../projection/task-view.projection';
import { generationTables, type GenerationTables } from '../schema/read-model.schema';
import { inTransaction, withPooledClient } from './in-transaction';
import { sqlLiteral, type SqlValue } from './sql-literal';
import {
  planBatch,
  type BatchPlan,
  type Checkpoint,
  type ParkedRecord,
  type SequencedRecord,
} from '../sequencing/stream-sequencer';

/** Some events are ahead of their stream; the batch was rolled back so it can be retried. */
export class StreamGapError extends Error {
  readonly code = 'VERSION_GAP';
  readonly retriable = true;
  constructor(readonly gaps: { streamId: string; version: number }[]) {
    super(`${gaps.length} event(s) ahead of their stream, e.g. ${gaps[0]?.streamId} v${gaps[0]?.version}`);
    this.name = 'StreamGapError';
  }
}

/** Another writer (a rebalanced consumer, a rebuild hand-off, a redrive) created a stream first. */
export class ConcurrentStreamWriteError extends Error {
  readonly code = 'CONCURRENT_STREAM_WRITE';
  readonly retriable = true;
  constructor(streams: string[]) {
    super(`streams were written concurrently, retrying: ${streams.slice(0, 3).join(', ')}`);
    this.name = 'ConcurrentStreamWriteError';
  }
}

export interface ApplyBatchOptions {
  /** Park events ahead of their stream instead of throwing {@link StreamGapError}. @default false */
  parkGaps?: boolean;
  /** Attempts made on this batch so far, recorded with parked records. @default 1 */
  attempts?: number;
  /** When this batch first failed, recorded with parked records. @default now */
  firstFailedAt?: Date;
  /**
   * Runs, for a plan that parks records, after the plan is written and before COMMIT (e.g.
   * publishing the parked records to the DLQ), so nothing is committed that the hook did not get
   * to handle. Throwing rolls the batch back. A plan that parks nothing commits in the same round
   * trip as its write, without the hook.
   */
  beforeCommit?: (plan: BatchPlan<Task, TaskEvent>) => Promise<void>;
  /** The partition positions this batch reaches (one per partition it holds), recorded for `status`. */
  positions?: PartitionPosition[];
}

export interface PartitionPosition {
  topic: string;
  partition: number;
  offset: string;
}

export interface BatchOutcome {
  plan: BatchPlan<Task, TaskEvent>;
  notices: StreamChangedNotice[];
}

export interface RedriveResult {
  streamId: string | null;
  /** Parked records applied (or found already applied) and removed from the parked list. */
  released: number;
  /** Records still parked after the attempt. */
  stillParked: number;
  /** Why the head record is still parked, when it is. */
  error?: { reason: string; code: string; message: string };
}

/** A parked record as listed by `dlq list`. */
export interface ParkedEventInfo {
  id: number;
  streamId: string | null;
  aggregateVersion: number | null;
  eventType: string | null;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  reason: string;
  errorCode: string;
  errorMessage: string;
  attempts: number;
  firstFailedAt: Date;
  parkedAt: Date;
  lastAttemptAt: Date;
}

interface ParkedRow {
  id: string;
  stream_id: string | null;
  aggregate_version: string | null;
  source_topic: string;
  source_partition: number;
  source_offset: string;
  message_key: Buffer | null;
  message_value: Buffer | null;
  headers: Record<string, string>;
  reason: string;
  error_code: string;
  error_message: string;
  attempts: number;
  first_failed_at: Date;
  parked_at: Date;
  last_attempt_at: Date;
}

// A stream's parked records are redriven in version order (an event that arrived late after a
// gap goes before the ones it was missing for); records of unknown version keep their place first.
const STREAM_ORDER = 'aggregate_version NULLS FIRST, id';

const toInfo = (r: ParkedRow): ParkedEventInfo => ({
  id: Number(r.id),
  streamId: r.stream_id,
  aggregateVersion: r.aggregate_version === null ? null : Number(r.aggregate_version),
  eventType: r.headers['eventType'] ?? null,
  sourceTopic: r.source_topic,
  sourcePartition: r.source_partition,
  sourceOffset: r.source_offset,
  reason: r.reason,
  errorCode: r.error_code,
  errorMessage: r.error_message,
  attempts: r.attempts,
  firstFailedAt: r.first_failed_at,
  parkedAt: r.parked_at,
  lastAttemptAt: r.last_attempt_at,
});

/**
 * Writes the tasks read models of one generation. Each batch is one transaction holding the
 * read-model rows, the per-stream checkpoints (the exactly-once guard), parked records, the
 * partition position and the NOTIFY — so they commit together or not at all.
 */
export class TaskReadModelWriter {
  private readonly t: GenerationTables;

  /**
   * @param pool a pool connected as the projector role (DML on the read database)
   * @param generation the generation to write (its tables must exist)
   * @param notify whether to NOTIFY `tasks_changed` on commit; off while a rebuild fills a
   *   generation nobody reads yet. Can be turned on later (see {@link setNotify}).
   */
  constructor(
    private readonly pool: Pool,
    readonly generation: number,
    private notify = true,
  ) {
    this.t = generationTables(generation);
  }

  /** Starts or stops notifying (a rebuilt generation starts once it is activated). */
  setNotify(notify: boolean): void {
    this.notify = notify;
  }

  /**
   * Applies a batch (records in consumption order, any mix of streams) in one transaction.
   * @throws {StreamGapError} when events are ahead of their stream and `parkGaps` is off
   * @throws {ConcurrentStreamWriteError} when another writer created one of the streams first
   */
  async applyBatch(
    records: readonly SequencedRecord<TaskEvent>[],
    options: ApplyBatchOptions = {},
  ): Promise<BatchOutcome> {
    const streamIds = [
      ...new Set(records.map((r) => r.decoded.streamId).filter((s): s is string => s !== null)),
    ].sort();
    // Two round trips: BEGIN with the load, then the write with COMMIT. On this kind of machine
    // a round trip (two socket writes and wake-ups on each side) costs more than the SQL in it.
    return withPooledClient(this.pool, async (client) => {
      const { checkpoints, states } = await this.load(client, streamIds, { begin: true });
      const plan = planBatch(records, checkpoints, states, taskProjection, { parkGaps: options.parkGaps });
      if (plan.gaps.length > 0) {
        throw new StreamGapError(
          plan.gaps.map((g) => ({ streamId: g.decoded.streamId ?? '', version: g.decoded.ok ? g.decoded.version : 0 })),
        );
      }
      const hook = plan.parked.length > 0 ? options.beforeCommit : undefined;
      const notices = await this.write(client, plan, new Set(checkpoints.keys()), options, { commit: !hook });
      if (hook) {
        await hook(plan);
        await client.query('COMMIT');
      }
      return { plan, notices };
    });
  }

  /**
   * Retries the parked records of a stream, in order: the head first, then what waits behind it.
   * Records that apply (or turn out to be applied already) leave the parked list; the first one
   * that still fails stays at the head with its new error, and the stream stays parked.
   *
   * @param decode turns a stored record back into an event (the serde, with today's schemas)
   * @param replaceHead an operator's corrected value for the head record (e.g. the event
   *   re-encoded from the event store). If it applies, it is kept in `record_overrides`, so
   *   rebuilds read it instead of the original; the original stays on the topic and the DLQ.
   */
  async redriveStream(
    streamId: string,
    decode: (record: SequencedRecord<never>['source']) => Promise<SequencedRecord<TaskEvent>>,
    replaceHead?: Buffer,
  ): Promise<RedriveResult> {
    return inTransaction(this.pool, async (client) => {
      const { checkpoints, states } = await this.load(client, [streamId], { begin: false });
      const parked = await client.query<ParkedRow>(
        `SELECT * FROM ${this.t.parked_events} WHERE stream_id = $1 ORDER BY ${STREAM_ORDER} FOR UPDATE`,
        [streamId],
      );
      if (parked.rows.length === 0) {
        // Nothing parked: make sure the flag does not keep the stream blocked.
        await client.query(`UPDATE ${this.t.stream_checkpoints} SET parked = false WHERE stream_id = $1`, [streamId]);
        return { streamId, released: 0, stillParked: 0 };
      }
      const records: SequencedRecord<TaskEvent>[] = [];
      for (const [i, row] of parked.rows.entries()) {
        const value = i === 0 && replaceHead ? replaceHead : row.message_value;
        records.push(
          await decode({
            topic: row.source_topic,
            partition: row.source_partition,
            offset: row.source_offset,
            key: row.message_key,
            value,
            headers: row.headers,
          }),
        );
      }
      const plan = planBatch(records, checkpoints, states, taskProjection, {
        parkGaps: true,
        unpark: new Set([streamId]),
      });
      // Written like a batch, except the parked list: applied records leave it, others are updated.
      const keyOf = (topic: string, partition: number, offset: string) => `${topic}/${partition}/${offset}`;
      const stillParked = new Set(plan.parked.map((p) => keyOf(p.source.topic, p.source.partition, p.source.offset)));
      const released = parked.rows.filter(
        (r) => !stillParked.has(keyOf(r.source_topic, r.source_partition, r.source_offset)),
      );
      await this.write(client, { ...plan, parked: [] }, new Set(checkpoints.keys()), {}, { commit: false });
      const head = parked.rows[0];
      if (head && replaceHead && released.some((r) => r.id === head.id)) {
        // The correction applied: keep it, so a rebuild reads it at that position too.
        await client.query(
          `INSERT INTO record_overrides (topic, "partition", "offset", value, original_code) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (topic, "partition", "offset") DO UPDATE SET value = EXCLUDED.value, created_at = now()`,
          [head.source_topic, head.source_partition, head.source_offset, replaceHead, head.error_code],
        );
      }
      if (released.length > 0) {
        await client.query(`DELETE FROM ${this.t.parked_events} WHERE id = ANY($1::bigint[])`, [
          released.map((r) => r.id),
        ]);
      }
      for (const p of plan.parked) {
        await client.query(
          // A failing replacement value is not kept: the original stays what the record is.
          `UPDATE ${this.t.parked_events} SET reason = $1, error_code = $2, error_message = $3, attempts = attempts + 1, last_attempt_at = now()
            WHERE source_topic = $4 AND source_partition = $5 AND source_offset = $6`,
          [p.reason, p.code, p.message, p.source.topic, p.source.partition, p.source.offset],
        );
      }
      const blocking = plan.parked[0];
      return {
        streamId,
        released: released.length,
        stillParked: plan.parked.length,
        ...(blocking ? { error: { reason: blocking.reason, code: blocking.code, message: blocking.message } } : {}),
      };
    });
  }

  /**
   * Redrives those of `streamIds` that are parked because of a gap (their first parked record is
   * a GAP): called when a later record of such a stream arrived, which may be the missing one.
   * Streams parked behind poison are left alone (only an operator can fix those).
   */
  async healGaps(
    streamIds: readonly string[],
    decode: (record: SequencedRecord<never>['source']) => Promise<SequencedRecord<TaskEvent>>,
  ): Promise<RedriveResult[]> {
    if (streamIds.length === 0) return [];
    const heads = await this.pool.query<{ stream_id: string; reason: string }>(
      `SELECT DISTINCT ON (stream_id) stream_id, reason FROM ${this.t.parked_events} WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, id`,
      [streamIds],
    );
    const results: RedriveResult[] = [];
    for (const head of heads.rows)
      if (head.reason === 'GAP') results.push(await this.redriveStream(head.stream_id, decode));
    return results;
  }

  /** Parked records, oldest first; those of one stream in the order a redrive applies them. */
  async listParked(options: { streamId?: string; limit?: number } = {}): Promise<ParkedEventInfo[]> {
    const result = await this.pool.query<ParkedRow>(
      `SELECT * FROM ${this.t.parked_events} WHERE ($1::text IS NULL OR stream_id = $1)
        ORDER BY ${options.streamId === undefined ? 'id' : STREAM_ORDER} LIMIT $2`,
      [options.streamId ?? null, options.limit ?? 1000],
    );
    return result.rows.map(toInfo);
  }

  /** One parked record, with its original key, value and headers. */
  async getParked(
    id: number,
  ): Promise<
    (ParkedEventInfo & { key: Buffer | null; value: Buffer | null; headers: Record<string, string> }) | undefined
  > {
    const result = await this.pool.query<ParkedRow>(`SELECT * FROM ${this.t.parked_events} WHERE id = $1`, [id]);
    const row = result.rows[0];
    return row ? { ...toInfo(row), key: row.message_key, value: row.message_value, headers: row.headers } : undefined;
  }

  /** Streams that are parked, in the order they were parked, with what blocks each. */
  async parkedStreams(): Promise<
    { streamId: string | null; count: number; headId: number; reason: string; errorCode: string; since: Date }[]
  > {
    const result = await this.pool.query<{
      stream_id: string | null;
      count: string;
      head_id: string;
      reason: string;
      error_code: string;
      since: Date;
    }>(
      `SELECT stream_id, count(*) AS count, (array_agg(id ORDER BY ${STREAM_ORDER}))[1] AS head_id,
              (array_agg(reason ORDER BY ${STREAM_ORDER}))[1] AS reason, (array_agg(error_code ORDER BY ${STREAM_ORDER}))[1] AS error_code,
              min(parked_at) AS since
         FROM ${this.t.parked_events} GROUP BY stream_id ORDER BY min(id)`,
    );
    return result.rows.map((r) => ({
      streamId: r.stream_id,
      count: Number(r.count),
      headId: Number(r.head_id),
      reason: r.reason,
      errorCode: r.error_code,
      since: r.since,
    }));
  }

  /** The last offset applied per partition (what `status` shows as the applied position). */
  async partitionPositions(): Promise<{ topic: string; partition: number; lastOffset: string; appliedAt: Date }[]> {
    const result = await this.pool.query<{ topic: string; partition: number; last_offset: string; applied_at: Date }>(
      `SELECT topic, partition, last_offset, applied_at FROM ${this.t.partition_positions} ORDER BY topic, partition`,
    );
    return result.rows.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      lastOffset: r.last_offset,
      appliedAt: r.applied_at,
    }));
  }

  private async load(client: PoolClient, streamIds: string[], { begin }: { begin: boolean }) {
    const checkpoints = new Map<string, Checkpoint>();
    const states = new Map<string, Task>();
    if (streamIds.length === 0) {
      if (begin) await client.query('BEGIN');
      return { checkpoints, states };
    }
    // One round trip, two statements (with BEGIN in front when asked). The first locks the
    // streams' checkpoints, in id order so two writers never deadlock; a concurrent writer waits
    // here. The second reads checkpoints and views: under READ COMMITTED each statement takes
    // its own snapshot, so it sees what the writer it waited for committed. (Read in the locking
    // statement, the views would come from a snapshot taken before the wait: a batch would then
    // write its next event on top of rows another writer had already replaced.)
    const ids = sqlLiteral(streamIds, 'text[]');
    const results = await client.query<TaskViewRow & { cp_stream: string; cp_version: string; cp_parked: boolean }>(
      `${begin ? 'BEGIN;\n' : ''}SELECT 1 FROM ${this.t.stream_checkpoints} WHERE stream_id = ANY(${ids}) ORDER BY stream_id FOR UPDATE;
       SELECT c.stream_id AS cp_stream, c.version AS cp_version, c.parked AS cp_parked, v.*
         FROM ${this.t.stream_checkpoints} c LEFT JOIN ${this.t.task_view} v ON v.task_id = c.stream_id
        WHERE c.stream_id = ANY(${ids})`,
    );
    const rows = lastResult(results);
    for (const r of rows.rows) {
      checkpoints.set(r.cp_stream, { version: Number(r.cp_version), parked: r.cp_parked });
      if (r.task_id !== null) states.set(r.task_id, stateFromView(taskViewFromRow(r)));
    }
    return { checkpoints, states };
  }

  /**
   * Writes a plan as ONE statement of data-modifying CTEs (checkpoints, views, statistics,
   * parked records, partition position, NOTIFY), with COMMIT behind it in the same round trip
   * when `commit`: a batch costs the same two round trips whatever its size, which is what keeps
   * both latency and throughput up. Values go in as literals (see {@link sqlLiteral}).
   */
  private async write(
    client: PoolClient,
    plan: BatchPlan<Task, TaskEvent>,
    existing: ReadonlySet<string>,
    options: ApplyBatchOptions,
    { commit }: { commit: boolean },
  ): Promise<StreamChangedNotice[]> {
    const parts: string[] = [];
    const created: [string, number, boolean][] = [];
    const updated: [string, number, boolean][] = [];
    for (const [streamId, c] of plan.checkpoints)
      (existing.has(streamId) ? updated : created).push([streamId, c.version, c.parked]);
    const cp = (rows: [string, number, boolean][]) =>
      `${sqlLiteral(
        rows.map((c) => c[0]),
        'text[]',
      )}, ${sqlLiteral(
        rows.map((c) => c[1]),
        'bigint[]',
      )}, ${sqlLiteral(
        rows.map((c) => c[2]),
        'boolean[]',
      )}`;
    if (created.length > 0) {
      // New streams have no row to lock: a plain insert, so if another writer got there first
      // the statement fails (unique violation, after waiting for that writer to commit), the
      // COMMIT behind it never runs, and the retry reads what that writer committed.
      parts.push(`created AS (INSERT INTO ${this.t.stream_checkpoints} (stream_id, version, parked)
        SELECT * FROM unnest(${cp(created)}) RETURNING 1)`);
    }
    if (updated.length > 0) {
      parts.push(`updated AS (UPDATE ${this.t.stream_checkpoints} AS c SET version = u.version, parked = u.parked
        FROM unnest(${cp(updated)}) AS u(stream_id, version, parked) WHERE c.stream_id = u.stream_id RETURNING 1)`);
    }
    const changes = [...plan.changes.values()].filter((c) => c.after.status !== 'none');
    if (changes.length > 0) {
      const col = (cast: string, pick: (task: Exclude<Task, { status: 'none' }>, version: number) => SqlValue) =>
        sqlLiteral(
          changes.map((c) => pick(c.after as Exclude<Task, { status: 'none' }>, c.toVersion)),
          cast,
        );
      parts.push(`viewed AS (INSERT INTO ${this.t.task_view} AS v (task_id, owner_id, title, description, due_date, priority, status,
          created_at, updated_at, started_at, completed_at, abandoned_at, abandon_reason, deleted_at, version)
        SELECT * FROM unnest(${col('text[]', (t) => t.taskId)}, ${col('text[]', (t) => t.ownerId)}, ${col('text[]', (t) => t.title)},
          ${col('text[]', (t) => t.description)}, ${col('text[]', (t) => t.dueDate)}, ${col('text[]', (t) => t.priority)},
          ${col('text[]', (t) => t.status)}, ${col('timestamptz[]', (t) => t.createdAt)}, ${col('timestamptz[]', (t) => t.updatedAt)},
          ${col('timestamptz[]', (t) => t.startedAt)}, ${col('timestamptz[]', (t) => t.completedAt)}, ${col('timestamptz[]', (t) => t.abandonedAt)},
          ${col('text[]', (t) => t.abandonReason)}, ${col('timestamptz[]', (t) => t.deletedAt)}, ${col('bigint[]', (_, version) => version)})
        ON CONFLICT (task_id) DO UPDATE SET owner_id = EXCLUDED.owner_id, title = EXCLUDED.title, description = EXCLUDED.description,
          due_date = EXCLUDED.due_date, priority = EXCLUDED.priority, status = EXCLUDED.status, created_at = EXCLUDED.created_at,
          updated_at = EXCLUDED.updated_at, started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at,
          abandoned_at = EXCLUDED.abandoned_at, abandon_reason = EXCLUDED.abandon_reason, deleted_at = EXCLUDED.deleted_at,
          version = EXCLUDED.version
        RETURNING 1)`);
      const deltas = new Map<string, StatusCounts>();
      for (const c of changes) statsDelta(c.before, c.after, deltas);
      const owners = [...deltas.keys()].sort();
      if (owners.length > 0) {
        const of = (k: keyof StatusCounts) =>
          sqlLiteral(
            owners.map((o) => (deltas.get(o) ?? emptyCounts())[k]),
            'bigint[]',
          );
        // Sorted by owner: concurrent batches touching the same users lock their rows in one order.
        parts.push(`counted AS (INSERT INTO ${this.t.user_task_stats} AS s (owner_id, open_count, started_count, completed_count, abandoned_count, deleted_count)
          SELECT * FROM unnest(${sqlLiteral(owners, 'text[]')}, ${of('open')}, ${of('started')}, ${of('completed')}, ${of('abandoned')}, ${of('deleted')}) ORDER BY 1
          ON CONFLICT (owner_id) DO UPDATE SET open_count = s.open_count + EXCLUDED.open_count,
            started_count = s.started_count + EXCLUDED.started_count, completed_count = s.completed_count + EXCLUDED.completed_count,
            abandoned_count = s.abandoned_count + EXCLUDED.abandoned_count, deleted_count = s.deleted_count + EXCLUDED.deleted_count
          RETURNING 1)`);
      }
    }
    if (plan.parked.length > 0) parts.push(this.parkedPart(plan.parked, options));
    const positions = latestPositions(options.positions ?? []);
    if (positions.length > 0) {
      parts.push(`positioned AS (INSERT INTO ${this.t.partition_positions} AS p (topic, partition, last_offset)
        SELECT * FROM unnest(${sqlLiteral(
          positions.map((p) => p.topic),
          'text[]',
        )}, ${sqlLiteral(
          positions.map((p) => p.partition),
          'int[]',
        )},
          ${sqlLiteral(
            positions.map((p) => p.offset),
            'bigint[]',
          )})
        ON CONFLICT (topic, partition) DO UPDATE SET last_offset = GREATEST(p.last_offset, EXCLUDED.last_offset), applied_at = now()
        RETURNING 1)`);
    }
    const notices = changes.map((c) => ({
      streamId: c.streamId,
      version: c.toVersion,
      ownerId: (c.after as Exclude<Task, { status: 'none' }>).ownerId,
    }));
    const notify = this.notify && notices.length > 0;
    if (notify) {
      parts.push(`notified AS (SELECT pg_notify(${sqlLiteral(TASKS_CHANGED_CHANNEL, 'text')}, p)
        FROM unnest(${sqlLiteral(encodeChangeNotices(this.generation, notices), 'text[]')}) AS p)`);
    }
    if (parts.length === 0) {
      if (commit) await client.query('COMMIT');
      return notices;
    }
    try {
      // Data-modifying CTEs run whether or not they are referenced; `notified` is a plain SELECT
      // and runs only because it is counted here.
      await client.query(
        `WITH ${parts.join(',\n')}\nSELECT ${notify ? '(SELECT count(*) FROM notified)' : '0'} AS notified${commit ? ';\nCOMMIT' : ''}`,
      );
    } catch (error) {
      const e = error as { code?: string; table?: string };
      if (e.code === '23505' && e.table === this.t.stream_checkpoints)
        throw new ConcurrentStreamWriteError(created.map((c) => c[0]));
      throw error;
    }
    return notices;
  }

  private parkedPart(parked: ParkedRecord[], options: ApplyBatchOptions): string {
    const col = (cast: string, pick: (p: ParkedRecord) => SqlValue) => sqlLiteral(parked.map(pick), cast);
    return `parked AS (INSERT INTO ${this.t.parked_events} (stream_id, aggregate_version, source_topic, source_partition, source_offset,
        message_key, message_value, headers, reason, error_code, error_message, attempts, first_failed_at)
      SELECT s, v, t, p, o, k, val, h::jsonb, r, c, m, ${sqlLiteral(options.attempts ?? 1, 'int')}, ${sqlLiteral((options.firstFailedAt ?? new Date()).toISOString(), 'timestamptz')}
        FROM unnest(${col('text[]', (p) => p.streamId)}, ${col('bigint[]', (p) => p.version)}, ${col('text[]', (p) => p.source.topic)},
          ${col('int[]', (p) => p.source.partition)}, ${col('bigint[]', (p) => p.source.offset)}, ${col('bytea[]', (p) => p.source.key)},
          ${col('bytea[]', (p) => p.source.value)}, ${col('text[]', (p) => JSON.stringify(p.source.headers))}, ${col('text[]', (p) => p.reason)},
          ${col('text[]', (p) => p.code)}, ${col('text[]', (p) => p.message)}) AS x(s, v, t, p, o, k, val, h, r, c, m)
      ON CONFLICT (source_topic, source_partition, source_offset) DO NOTHING
      RETURNING 1)`;
  }
}

/** The furthest offset per partition (one row each: an upsert may not touch a row twice). */
function latestPositions(positions: readonly PartitionPosition[]): PartitionPosition[] {
  const latest = new Map<string, PartitionPosition>();
  for (const p of positions) {
    const key = `${p.topic}\u0000${p.partition}`;
    const seen = latest.get(key);
    if (!seen || BigInt(p.offset) > BigInt(seen.offset)) latest.set(key, p);
  }
  return [...latest.values()];
}

/** The result of the last statement of a (possibly multi-statement) simple query. */
function lastResult<R extends QueryResultRow>(results: QueryResult<R> | QueryResult<R>[]): QueryResult<R> {
  return Array.isArray(results) ? results[results.length - 1]! : results;
}
