import type { Task, TaskStatus } from '@cqrs/tasks-domain';
import type { Pool, PoolClient } from 'pg';
import { encodeChangeNotices, TASKS_CHANGED_CHANNEL, type StreamChangedNotice } from '../notifications';
import {
  emptyCounts,
  stateFromView,
  statsDelta,
  taskViewFromRow,
  type StatusCounts,
  type TaskViewRow,
} from '../projection/task-view.projection';
import { generationTables, type GenerationTables } from '../schema/read-model.schema';
import { withPooledClient } from './in-transaction';

/** A stream as the event store has it: its latest version and the fold of all its events. */
export interface StoreStreamState {
  /** 0 when the store has no event of the stream. */
  version: number;
  /** The fold of versions 1..version (`none` when there are none). */
  state: Task;
}

/**
 * Reads streams from the event store and folds them. {@link TaskStreamRepairer.repair} calls it
 * after it has locked the streams in the read model, so what it reads includes every event the
 * projector applied to them (the projector applies only what the store committed first). A
 * stream it cannot fold (a gap, an event that does not apply) maps to `{ error }` and is left as
 * it is.
 */
export type StoreStreamSource = (
  streamIds: readonly string[],
) => Promise<ReadonlyMap<string, StoreStreamState | { error: string }>>;

/** What the repair of one stream did. */
export interface StreamRepair {
  streamId: string;
  /** What the read model held: its checkpoint and row versions (null: none) and parked records. */
  before: { checkpoint: number | null; row: number | null; parked: number };
  /**
   * `rewritten`: row and checkpoint now are the store's fold at `version`; `removed`: the store
   * has no event of the stream, so its row (and checkpoint) are gone; `skipped`: the store's
   * stream could not be folded (see `error`), nothing was changed.
   */
  outcome: 'rewritten' | 'removed' | 'skipped';
  /** The store version the read model now reflects (0 when removed). */
  version: number;
  /** Parked records left: those of versions the store does not have, or of no version. */
  stillParked: number;
  /** Users whose rows the repair changed (the old row's owner and the new one's). */
  owners: string[];
  error?: string;
}

/** A user's statistics before and after {@link TaskStreamRepairer.recountStats}. */
export interface StatsRecount {
  ownerId: string;
  before: StatusCounts;
  after: StatusCounts;
}

const STATUSES: readonly (keyof StatusCounts)[] = ['open', 'started', 'completed', 'abandoned', 'deleted'];
// A deadlock with a concurrent writer (detected by PostgreSQL, one side rolled back) or a
// serialization failure: the whole transaction is retried.
const RETRIABLE = new Set(['40P01', '40001']);

/**
 * How a repair moves a user's counts: {@link statsDelta} when the stream stays with its owner;
 * otherwise -1 in the old row's owner and status, +1 in the new one's (a row whose owner was
 * wrong, or an orphan row that disappears).
 */
export function repairStatsDelta(before: Task, after: Task, into: Map<string, StatusCounts>): void {
  if (before.status !== 'none' && after.status !== 'none' && before.ownerId === after.ownerId) {
    statsDelta(before, after, into);
    return;
  }
  const add = (ownerId: string, status: TaskStatus, n: number) => {
    const counts = into.get(ownerId) ?? emptyCounts();
    counts[status] += n;
    into.set(ownerId, counts);
  };
  if (before.status !== 'none') add(before.ownerId, before.status, -1);
  if (after.status !== 'none') add(after.ownerId, after.status, 1);
}

/**
 * Rewrites streams of one generation from the event store (`projector reconcile --repair`). A
 * live projector applying the same streams concurrently cannot corrupt them: each call is one
 * transaction that first locks the generation's checkpoints table against writers (see
 * `repairIn`) and the streams' checkpoint rows (creating the missing ones, in stream order as the
 * writer does), then reads the store, writes the folded rows, moves the statistics by the
 * difference between the old rows and the new ones, sets the checkpoints to the store's versions
 * and drops the parked records the store now covers.
 * A projector batch touching these streams waits for the commit and then reads it: events at or
 * below the new checkpoints are duplicates to it, later ones apply on top.
 */
export class TaskStreamRepairer {
  private readonly t: GenerationTables;

  /**
   * @param pool a pool connected as the projector role (DML on the generation's tables)
   * @param notify NOTIFY `tasks_changed` for the rewritten streams, as the projector does
   */
  constructor(
    private readonly pool: Pool,
    readonly generation: number,
    private readonly options: { notify?: boolean; attempts?: number } = {},
  ) {
    this.t = generationTables(generation);
  }

  /** Repairs `streamIds` (one transaction: keep batches to a few hundred streams). */
  async repair(streamIds: readonly string[], source: StoreStreamSource): Promise<StreamRepair[]> {
    const ids = [...new Set(streamIds)].sort();
    if (ids.length === 0) return [];
    return this.retrying(() => withPooledClient(this.pool, (client) => this.repairIn(client, ids, source)));
  }

  /**
   * Sets users' statistics to the counts of their rows. Each user's statistics row is locked
   * first, then the rows are counted (READ COMMITTED: a fresh snapshot after the lock), so a
   * projector batch that is changing one of the user's rows meanwhile either committed before
   * (counted) or adds its delta after this commit (it waits for the lock): either way right.
   */
  async recountStats(ownerIds: readonly string[]): Promise<StatsRecount[]> {
    const owners = [...new Set(ownerIds)].sort();
    if (owners.length === 0) return [];
    return this.retrying(() =>
      withPooledClient(this.pool, async (client) => {
        await client.query('BEGIN');
        const locked = await client.query<CountsRow & { owner_id: string }>(
          `INSERT INTO ${this.t.user_task_stats} AS s (owner_id) SELECT o FROM unnest($1::text[]) AS o ORDER BY o
           ON CONFLICT (owner_id) DO UPDATE SET open_count = s.open_count
           RETURNING owner_id, open_count, started_count, completed_count, abandoned_count, deleted_count`,
          [owners],
        );
        const counted = await client.query<{ owner_id: string; status: string; n: string }>(
          `SELECT owner_id, status, count(*) AS n FROM ${this.t.task_view} WHERE owner_id = ANY($1::text[]) GROUP BY owner_id, status`,
          [owners],
        );
        const after = new Map(owners.map((o) => [o, emptyCounts()]));
        for (const r of counted.rows) {
          const counts = after.get(r.owner_id);
          if (counts && (STATUSES as readonly string[]).includes(r.status))
            counts[r.status as keyof StatusCounts] = Number(r.n);
        }
        const of = (k: keyof StatusCounts) => owners.map((o) => after.get(o)![k]);
        await client.query(
          `UPDATE ${this.t.user_task_stats} AS s SET open_count = u.open, started_count = u.started, completed_count = u.completed,
             abandoned_count = u.abandoned, deleted_count = u.deleted
           FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) AS u(owner_id, open, started, completed, abandoned, deleted)
           WHERE s.owner_id = u.owner_id`,
          [owners, of('open'), of('started'), of('completed'), of('abandoned'), of('deleted')],
        );
        await client.query('COMMIT');
        const before = new Map(locked.rows.map((r) => [r.owner_id, countsOf(r)]));
        return owners.map((ownerId) => ({
          ownerId,
          before: before.get(ownerId) ?? emptyCounts(),
          after: after.get(ownerId)!,
        }));
      }),
    );
  }

  private async repairIn(client: PoolClient, ids: string[], source: StoreStreamSource): Promise<StreamRepair[]> {
    await client.query('BEGIN');
    // Lock every stream's checkpoint, creating the missing ones (version 0 for now), in stream
    // order (the projector's writer locks them in the same order, then reads the rows, so a batch
    // that waited for this transaction applies on the repaired rows). DO UPDATE (not DO NOTHING) so a row another writer created meanwhile is locked too.
    const locked = await client.query<{ stream_id: string; version: string; parked: boolean; inserted: boolean }>(
      `INSERT INTO ${this.t.stream_checkpoints} AS c (stream_id, version, parked) SELECT s, 0, false FROM unnest($1::text[]) AS s ORDER BY s
       ON CONFLICT (stream_id) DO UPDATE SET version = c.version
       RETURNING stream_id, version, parked, (xmax = 0) AS inserted`,
      [ids],
    );
    const views = await client.query<TaskViewRow>(`SELECT * FROM ${this.t.task_view} WHERE task_id = ANY($1::text[])`, [
      ids,
    ]);
    const parkedBefore = await this.parkedCounts(client, ids);
    // The store, read now that the streams are locked: nothing the projector applied is missing.
    const store = await source(ids);

    const checkpointOf = new Map(locked.rows.map((r) => [r.stream_id, r]));
    const viewOf = new Map(views.rows.map((r) => [r.task_id, taskViewFromRow(r)]));
    const results: StreamRepair[] = [];
    const upserts: { streamId: string; version: number; task: Exclude<Task, { status: 'none' }> }[] = [];
    const removals: string[] = [];
    const targets: { streamId: string; version: number }[] = [];
    const createdButSkipped: string[] = [];
    const deltas = new Map<string, StatusCounts>();
    for (const streamId of ids) {
      const cp = checkpointOf.get(streamId);
      const view = viewOf.get(streamId);
      const before = {
        checkpoint: cp && !cp.inserted ? Number(cp.version) : null,
        row: view ? view.version : null,
        parked: parkedBefore.get(streamId) ?? 0,
      };
      const found = store.get(streamId) ?? { version: 0, state: { status: 'none' } as Task };
      if ('error' in found) {
        if (cp?.inserted) createdButSkipped.push(streamId);
        results.push({
          streamId,
          before,
          outcome: 'skipped',
          version: before.checkpoint ?? 0,
          stillParked: before.parked,
          owners: [],
          error: found.error,
        });
        continue;
      }
      repairStatsDelta(stateFromView(view), found.state, deltas);
      if (found.state.status === 'none') {
        if (view) removals.push(streamId);
      } else {
        upserts.push({ streamId, version: found.version, task: found.state });
      }
      targets.push({ streamId, version: found.version });
      const owners = new Set(
        [view?.ownerId, found.state.status === 'none' ? undefined : found.state.ownerId].filter(
          (o): o is string => o !== undefined,
        ),
      );
      results.push({
        streamId,
        before,
        outcome: found.state.status === 'none' ? 'removed' : 'rewritten',
        version: found.version,
        stillParked: 0,
        owners: [...owners],
      });
    }

    if (upserts.length > 0) {
      const col = <T>(pick: (u: (typeof upserts)[number]) => T) => upserts.map(pick);
      await client.query(
        `INSERT INTO ${this.t.task_view} AS v (task_id, owner_id, title, description, due_date, priority, status,
            created_at, updated_at, started_at, completed_at, abandoned_at, abandon_reason, deleted_at, version)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[],
           $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::text[], $14::timestamptz[], $15::bigint[])
         ON CONFLICT (task_id) DO UPDATE SET owner_id = EXCLUDED.owner_id, title = EXCLUDED.title, description = EXCLUDED.description,
           due_date = EXCLUDED.due_date, priority = EXCLUDED.priority, status = EXCLUDED.status, created_at = EXCLUDED.created_at,
           updated_at = EXCLUDED.updated_at, started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at,
           abandoned_at = EXCLUDED.abandoned_at, abandon_reason = EXCLUDED.abandon_reason, deleted_at = EXCLUDED.deleted_at,
           version = EXCLUDED.version`,
        [
          col((u) => u.task.taskId),
          col((u) => u.task.ownerId),
          col((u) => u.task.title),
          col((u) => u.task.description),
          col((u) => u.task.dueDate),
          col((u) => u.task.priority),
          col((u) => u.task.status),
          col((u) => u.task.createdAt),
          col((u) => u.task.updatedAt),
          col((u) => u.task.startedAt),
          col((u) => u.task.completedAt),
          col((u) => u.task.abandonedAt),
          col((u) => u.task.abandonReason),
          col((u) => u.task.deletedAt),
          col((u) => u.version),
        ],
      );
    }
    if (removals.length > 0)
      await client.query(`DELETE FROM ${this.t.task_view} WHERE task_id = ANY($1::text[])`, [removals]);
    const owners = [...deltas.entries()]
      .filter(([, c]) => STATUSES.some((k) => c[k] !== 0))
      .map(([o]) => o)
      .sort();
    if (owners.length > 0) {
      const of = (k: keyof StatusCounts) => owners.map((o) => deltas.get(o)![k]);
      // Sorted by owner, as the writer's statistics upsert: concurrent writers lock users in one order.
      await client.query(
        `INSERT INTO ${this.t.user_task_stats} AS s (owner_id, open_count, started_count, completed_count, abandoned_count, deleted_count)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) ORDER BY 1
         ON CONFLICT (owner_id) DO UPDATE SET open_count = s.open_count + EXCLUDED.open_count,
           started_count = s.started_count + EXCLUDED.started_count, completed_count = s.completed_count + EXCLUDED.completed_count,
           abandoned_count = s.abandoned_count + EXCLUDED.abandoned_count, deleted_count = s.deleted_count + EXCLUDED.deleted_count`,
        [owners, of('open'), of('started'), of('completed'), of('abandoned'), of('deleted')],
      );
    }
    if (targets.length > 0) {
      const streams = targets.map((t) => t.streamId);
      // Unpark: the parked records the store's version covers are in the rewritten row now.
      await client.query(
        `DELETE FROM ${this.t.parked_events} AS p USING unnest($1::text[], $2::bigint[]) AS t(stream_id, version)
          WHERE p.stream_id = t.stream_id AND p.aggregate_version <= t.version`,
        [streams, targets.map((t) => t.version)],
      );
      const left = await this.parkedCounts(client, streams);
      for (const r of results) if (r.outcome !== 'skipped') r.stillParked = left.get(r.streamId) ?? 0;
      await client.query(
        `UPDATE ${this.t.stream_checkpoints} AS c SET version = t.version, parked = t.parked
           FROM unnest($1::text[], $2::bigint[], $3::boolean[]) AS t(stream_id, version, parked) WHERE c.stream_id = t.stream_id`,
        [streams, targets.map((t) => t.version), streams.map((s) => (left.get(s) ?? 0) > 0)],
      );
      // A stream the store does not have, with nothing parked: no checkpoint either.
      const gone = targets.filter((t) => t.version === 0 && !left.get(t.streamId)).map((t) => t.streamId);
      if (gone.length > 0)
        await client.query(`DELETE FROM ${this.t.stream_checkpoints} WHERE stream_id = ANY($1::text[])`, [gone]);
    }
    if (createdButSkipped.length > 0) {
      await client.query(`DELETE FROM ${this.t.stream_checkpoints} WHERE stream_id = ANY($1::text[])`, [
        createdButSkipped,
      ]);
    }
    const notices: StreamChangedNotice[] = [
      ...upserts.map((u) => ({ streamId: u.streamId, version: u.version, ownerId: u.task.ownerId })),
      ...removals.map((streamId) => ({ streamId, version: 0, ownerId: viewOf.get(streamId)!.ownerId })),
    ];
    if ((this.options.notify ?? true) && notices.length > 0) {
      await client.query(`SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, [
        TASKS_CHANGED_CHANNEL,
        encodeChangeNotices(this.generation, notices),
      ]);
    }
    await client.query('COMMIT');
    return results;
  }

  private async parkedCounts(client: PoolClient, ids: readonly string[]): Promise<Map<string, number>> {
    const result = await client.query<{ stream_id: string; n: string }>(
      `SELECT stream_id, count(*) AS n FROM ${this.t.parked_events} WHERE stream_id = ANY($1::text[]) GROUP BY stream_id`,
      [ids],
    );
    return new Map(result.rows.map((r) => [r.stream_id, Number(r.n)]));
  }

  private async retrying<T>(work: () => Promise<T>): Promise<T> {
    const attempts = this.options.attempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (attempt >= attempts || !RETRIABLE.has((error as { code?: string }).code ?? '')) throw error;
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 50));
      }
    }
  }
}

interface CountsRow {
  open_count: string;
  started_count: string;
  completed_count: string;
  abandoned_count: string;
  deleted_count: string;
}

const countsOf = (r: CountsRow): StatusCounts => ({
  open: Number(r.open_count),
  started: Number(r.started_count),
  completed: Number(r.completed_count),
  abandoned: Number(r.abandoned_count),
  deleted: Number(r.deleted_count),
});
