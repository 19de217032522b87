import { TASK_LIMITS } from '@cqrs/tasks-domain';
import { DomainError, identifierProblem } from '@cqrs/util';
import type { Pool, QueryResult, QueryResultRow } from 'pg';
import { ReadModelUnavailableError } from './read-model-unavailable.error';
import {
  emptyCounts,
  taskViewFromRow,
  userTaskStats,
  type TaskView,
  type TaskViewRow,
  type UserTaskStats,
} from '../projection/task-view.projection';

/** Statuses a user's task list can be filtered by (deleted tasks are never listed). */
export const LISTABLE_STATUSES = ['open', 'started', 'completed', 'abandoned'] as const;
export type ListableStatus = (typeof LISTABLE_STATUSES)[number];

/** Where a page ends: the sort key of its last task. Opaque to clients. */
export interface TaskListCursor {
  createdAt: string;
  taskId: string;
}

/** A page of a user's tasks, newest first. */
export interface TaskPage {
  items: TaskView[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

/** Encodes a cursor as base64url JSON. */
export function encodeCursor(cursor: TaskListCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.taskId])).toString('base64url');
}

// What encodeCursor can produce, and nothing else: canonical base64url of a JSON pair of a
// `toISOString()` instant (years 0001-9999, the ones PostgreSQL's timestamptz parses back) and a
// task id under the domain's identifier rules (so every task the read model holds can be paged
// past). The longest such cursor (a 200-emoji id) is about 1,100 characters.
const CURSOR_TEXT = /^[A-Za-z0-9_-]{1,1200}$/;
const CURSOR_INSTANT = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Decodes a client's cursor, strictly: a tampered or foreign cursor is refused here, before it
 * reaches SQL.
 * @throws {DomainError} `INVALID_CURSOR` (400) for anything this service did not hand out
 */
export function decodeCursor(cursor: string): TaskListCursor {
  const invalid = () =>
    new DomainError(
      'INVALID_CURSOR',
      'validation',
      'cursor is not one this service handed out; start again without it',
      {
        details: { errors: [{ field: 'cursor', message: 'invalid cursor' }] },
      },
    );
  if (!CURSOR_TEXT.test(cursor)) throw invalid();
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.toString('base64url') !== cursor) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw invalid();
  const [createdAt, taskId] = parsed as unknown[];
  if (
    typeof createdAt !== 'string' ||
    typeof taskId !== 'string' ||
    identifierProblem(taskId, TASK_LIMITS.idMaxLength) !== null
  )
    throw invalid();
  const time = Date.parse(createdAt);
  // The round trip refuses impossible dates (2025-02-30) that the pattern lets through.
  if (!CURSOR_INSTANT.test(createdAt) || Number.isNaN(time) || new Date(time).toISOString() !== createdAt)
    throw invalid();
  return { createdAt, taskId };
}

/**
 * Reads the tasks read models through the stable views (so it always reads the active
 * generation, also during and after a rebuild). Needs only SELECT (the `cqrs_query` role).
 * A read the database cannot serve in time (pool acquire or statement timeout, connection lost)
 * fails with {@link ReadModelUnavailableError} (503); anything else is rethrown as it is.
 */
export class TaskReadRepository {
  constructor(private readonly pool: Pool) {}

  /** The task's details, or undefined when there is no such task. Deleted tasks are returned (status `deleted`). */
  async findTask(taskId: string): Promise<TaskView | undefined> {
    const result = await this.query<TaskViewRow>(`SELECT * FROM task_view WHERE task_id = $1`, [taskId]);
    const row = result.rows[0];
    return row ? taskViewFromRow(row) : undefined;
  }

  /**
   * A user's tasks, newest first, optionally of one status; keyset pagination so a page costs
   * the same at any depth and concurrent inserts never shift or repeat items.
   */
  async listUserTasks(
    ownerId: string,
    options: { status?: ListableStatus; limit: number; cursor?: string },
  ): Promise<TaskPage> {
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const params: unknown[] = [ownerId];
    let where = `owner_id = $1`;
    if (options.status) {
      params.push(options.status);
      where += ` AND status = $${params.length}`;
    } else {
      where += ` AND status <> 'deleted'`;
    }
    if (after) {
      params.push(after.createdAt, after.taskId);
      where += ` AND (created_at, task_id) < ($${params.length - 1}::timestamptz, $${params.length})`;
    }
    params.push(options.limit + 1);
    const result = await this.query<TaskViewRow>(
      `SELECT * FROM task_view WHERE ${where} ORDER BY created_at DESC, task_id DESC LIMIT $${params.length}`,
      params,
    );
    const rows = result.rows.slice(0, options.limit);
    const last = rows[rows.length - 1];
    return {
      items: rows.map(taskViewFromRow),
      nextCursor:
        result.rows.length > options.limit && last
          ? encodeCursor({ createdAt: last.created_at.toISOString(), taskId: last.task_id })
          : null,
    };
  }

  /** A user's statistics; all zero for a user without tasks. */
  async userStats(ownerId: string): Promise<UserTaskStats> {
    const result = await this.query<{
      open_count: string;
      started_count: string;
      completed_count: string;
      abandoned_count: string;
      deleted_count: string;
    }>(
      `SELECT open_count, started_count, completed_count, abandoned_count, deleted_count FROM user_task_stats WHERE owner_id = $1`,
      [ownerId],
    );
    const row = result.rows[0];
    const counts = row
      ? {
          open: Number(row.open_count),
          started: Number(row.started_count),
          completed: Number(row.completed_count),
          abandoned: Number(row.abandoned_count),
          deleted: Number(row.deleted_count),
        }
      : emptyCounts();
    return userTaskStats(ownerId, counts);
  }

  /**
   * The version the read model reflects for each stream: 0 when it has seen none of it, or when
   * `visibleTo` is given and the task is not that owner's.
   */
  async streamVersions(streamIds: readonly string[], visibleTo?: string): Promise<Map<string, number>> {
    const versions = new Map(streamIds.map((id) => [id, 0]));
    if (streamIds.length === 0) return versions;
    // With `visibleTo`, a task of another owner reads as one the read model has not seen (0).
    const result = await this.query<{ stream_id: string; version: string }>(
      visibleTo === undefined
        ? `SELECT stream_id, version FROM stream_checkpoints WHERE stream_id = ANY($1::text[])`
        : `SELECT c.stream_id, c.version FROM stream_checkpoints c JOIN task_view v ON v.task_id = c.stream_id
            WHERE c.stream_id = ANY($1::text[]) AND v.owner_id = $2`,
      visibleTo === undefined ? [streamIds] : [streamIds, visibleTo],
    );
    for (const r of result.rows) versions.set(r.stream_id, Number(r.version));
    return versions;
  }

  private query<R extends QueryResultRow>(sql: string, params: unknown[]): Promise<QueryResult<R>> {
    return this.pool.query<R>(sql, params).catch((error: unknown) => {
      throw ReadModelUnavailableError.matches(error) ? new ReadModelUnavailableError(error) : error;
    });
  }
}
