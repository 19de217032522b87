import type { Task, TaskEvent } from '@cqrs/tasks-domain';
import { encodeChangeNotices, TASKS_CHANGED_CHANNEL, type StreamChangedNotice } from '../notifications';
import { emptyCounts, statsDelta, type StatusCounts } from '../projection/task-view.projection';
import type { GenerationTables } from '../schema/read-model.schema';
import type { BatchPlan } from '../sequencing/stream-sequencer';
import { parkedInsertPart } from './parked-events';
import { sqlLiteral, type SqlValue } from './sql-literal';

/** The partition a batch reached (one per partition it holds), recorded for `status`. */
export interface PartitionPosition {
  topic: string;
  partition: number;
  offset: string;
}

/** Where and how a batch is written. */
export interface BatchTarget {
  tables: GenerationTables;
  generation: number;
  /** Whether to NOTIFY the query side of the changes. */
  notify: boolean;
}

/** A plan as one statement, and what it tells the query side. */
export interface BatchStatement {
  /** undefined when the plan changes nothing. */
  sql: string | undefined;
  notices: StreamChangedNotice[];
  /** The streams whose checkpoints the statement creates (another writer may have been first). */
  createdStreams: string[];
}

/**
 * A plan as ONE statement of data-modifying CTEs (checkpoints, views, statistics, parked
 * records, partition position, NOTIFY), with COMMIT behind it when `commit`: a batch costs the
 * same two round trips whatever its size, which is what keeps both latency and throughput up.
 * Values go in as literals (see {@link sqlLiteral}). Pure: the writer runs it.
 */
export function batchStatement(
  { tables: t, generation, notify }: BatchTarget,
  plan: BatchPlan<Task, TaskEvent>,
  existing: ReadonlySet<string>,
  options: { attempts?: number; firstFailedAt?: Date; positions?: readonly PartitionPosition[] },
  commit: boolean,
): BatchStatement {
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
    parts.push(`created AS (INSERT INTO ${t.stream_checkpoints} (stream_id, version, parked)
      SELECT * FROM unnest(${cp(created)}) RETURNING 1)`);
  }
  if (updated.length > 0) {
    parts.push(`updated AS (UPDATE ${t.stream_checkpoints} AS c SET version = u.version, parked = u.parked
      FROM unnest(${cp(updated)}) AS u(stream_id, version, parked) WHERE c.stream_id = u.stream_id RETURNING 1)`);
  }
  const changes = [...plan.changes.values()].filter((c) => c.after.status !== 'none');
  if (changes.length > 0) {
    const col = (cast: string, pick: (task: Exclude<Task, { status: 'none' }>, version: number) => SqlValue) =>
      sqlLiteral(
        changes.map((c) => pick(c.after as Exclude<Task, { status: 'none' }>, c.toVersion)),
        cast,
      );
    parts.push(`viewed AS (INSERT INTO ${t.task_view} AS v (task_id, owner_id, title, description, due_date, priority, status,
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
      parts.push(`counted AS (INSERT INTO ${t.user_task_stats} AS s (owner_id, open_count, started_count, completed_count, abandoned_count, deleted_count)
        SELECT * FROM unnest(${sqlLiteral(owners, 'text[]')}, ${of('open')}, ${of('started')}, ${of('completed')}, ${of('abandoned')}, ${of('deleted')}) ORDER BY 1
        ON CONFLICT (owner_id) DO UPDATE SET open_count = s.open_count + EXCLUDED.open_count,
          started_count = s.started_count + EXCLUDED.started_count, completed_count = s.completed_count + EXCLUDED.completed_count,
          abandoned_count = s.abandoned_count + EXCLUDED.abandoned_count, deleted_count = s.deleted_count + EXCLUDED.deleted_count
        RETURNING 1)`);
    }
  }
  if (plan.parked.length > 0) parts.push(parkedInsertPart(t, plan.parked, options));
  const positions = latestPositions(options.positions ?? []);
  if (positions.length > 0) {
    parts.push(`positioned AS (INSERT INTO ${t.partition_positions} AS p (topic, partition, last_offset)
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
  const notifying = notify && notices.length > 0;
  if (notifying) {
    parts.push(`notified AS (SELECT pg_notify(${sqlLiteral(TASKS_CHANGED_CHANNEL, 'text')}, p)
      FROM unnest(${sqlLiteral(encodeChangeNotices(generation, notices), 'text[]')}) AS p)`);
  }
  const createdStreams = created.map((c) => c[0]);
  if (parts.length === 0) return { sql: undefined, notices, createdStreams };
  // Data-modifying CTEs run whether or not they are referenced; `notified` is a plain SELECT and
  // runs only because it is counted here.
  const sql = `WITH ${parts.join(',\n')}\nSELECT ${notifying ? '(SELECT count(*) FROM notified)' : '0'} AS notified${commit ? ';\nCOMMIT' : ''}`;
  return { sql, notices, createdStreams };
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
