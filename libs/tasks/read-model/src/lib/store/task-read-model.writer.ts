import type { Task, TaskEvent } from '@cqrs/tasks-domain';
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import type { StreamChangedNotice } from '../notifications';
import { stateFromView, taskProjection, taskViewFromRow, type TaskViewRow } from '../projection/task-view.projection';
import { generationTables, type GenerationTables } from '../schema/read-model.schema';
import { inTransaction, withPooledClient } from './in-transaction';
import { batchStatement, type PartitionPosition } from './batch-statement';
import { sqlLiteral } from './sql-literal';
import { ParkedEvents, STREAM_ORDER, type ParkedRow } from './parked-events';
import { planBatch, type BatchPlan, type Checkpoint, type SequencedRecord } from '../sequencing/stream-sequencer';

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

/**
 * Writes the tasks read models of one generation. Each batch is one transaction holding the
 * read-model rows, the per-stream checkpoints (the exactly-once guard), parked records, the
 * partition position and the NOTIFY — so they commit together or not at all.
 */
export class TaskReadModelWriter {
  private readonly t: GenerationTables;
  /** The generation's parked records, for the operations (`dlq list`, `dlq show`, `status`). */
  readonly parked: ParkedEvents;

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
    this.parked = new ParkedEvents(pool, generation);
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

  /** Runs a plan's {@link batchStatement} (with COMMIT behind it when `commit`). */
  private async write(
    client: PoolClient,
    plan: BatchPlan<Task, TaskEvent>,
    existing: ReadonlySet<string>,
    options: ApplyBatchOptions,
    { commit }: { commit: boolean },
  ): Promise<StreamChangedNotice[]> {
    const target = { tables: this.t, generation: this.generation, notify: this.notify };
    const statement = batchStatement(target, plan, existing, options, commit);
    if (statement.sql === undefined) {
      if (commit) await client.query('COMMIT');
      return statement.notices;
    }
    try {
      await client.query(statement.sql);
    } catch (error) {
      const e = error as { code?: string; table?: string };
      if (e.code === '23505' && e.table === this.t.stream_checkpoints)
        throw new ConcurrentStreamWriteError(statement.createdStreams);
      throw error;
    }
    return statement.notices;
  }
}

/** The result of the last statement of a (possibly multi-statement) simple query. */
function lastResult<R extends QueryResultRow>(results: QueryResult<R> | QueryResult<R>[]): QueryResult<R> {
  return Array.isArray(results) ? results[results.length - 1]! : results;
}
