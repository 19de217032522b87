import {
  evolve,
  initialState,
  type ExistingTask,
  type Task,
  type TaskEvent,
  type TaskStatus,
} from '@cqrs/tasks-domain';

/**
 * The task details read model: the task's state exactly as the domain's `evolve` folds it, plus
 * the stream version it reflects. Folding with the domain's own function is what makes the read
 * model equal to a replay of the event store by construction rather than by parallel code.
 */
export type TaskView = ExistingTask & {
  /** Version of the task's stream this view reflects (1 after TaskCreated, +1 per event). */
  version: number;
};

/** A row of `task_view` as node-postgres returns it (bigint as string, timestamptz as Date). */
export interface TaskViewRow {
  task_id: string;
  owner_id: string;
  title: string;
  description: string | null;
  due_date: string | null;
  priority: string;
  status: string;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  abandoned_at: Date | null;
  abandon_reason: string | null;
  deleted_at: Date | null;
  version: string | number;
}

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** Maps a `task_view` row to the view (ISO-8601 instants, numeric version). */
export function taskViewFromRow(row: TaskViewRow): TaskView {
  return {
    taskId: row.task_id,
    ownerId: row.owner_id,
    title: row.title,
    description: row.description,
    dueDate: row.due_date,
    priority: row.priority as TaskView['priority'],
    status: row.status as TaskStatus,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    startedAt: iso(row.started_at),
    completedAt: iso(row.completed_at),
    abandonedAt: iso(row.abandoned_at),
    abandonReason: row.abandon_reason,
    deletedAt: iso(row.deleted_at),
    version: Number(row.version),
  };
}

/** Counts of one user's tasks per status. Deleted tasks are counted apart and in no other bucket. */
export interface StatusCounts {
  open: number;
  started: number;
  completed: number;
  abandoned: number;
  deleted: number;
}

export const emptyCounts = (): StatusCounts => ({ open: 0, started: 0, completed: 0, abandoned: 0, deleted: 0 });

/** A user's statistics as the query side serves them. */
export interface UserTaskStats {
  ownerId: string;
  /** Tasks that exist (every status but deleted). */
  total: number;
  byStatus: Omit<StatusCounts, 'deleted'>;
  deleted: number;
  /** completed / total, rounded to 4 decimals; 0 when the user has no tasks. */
  completionRate: number;
}

/** Builds the served statistics from the stored counts. */
export function userTaskStats(ownerId: string, counts: StatusCounts): UserTaskStats {
  const { deleted, ...byStatus } = counts;
  const total = byStatus.open + byStatus.started + byStatus.completed + byStatus.abandoned;
  return {
    ownerId,
    total,
    byStatus,
    deleted,
    completionRate: total === 0 ? 0 : Math.round((byStatus.completed / total) * 10_000) / 10_000,
  };
}

/** The projection as the sequencer sees it: the domain's fold over one task stream. */
export const taskProjection = {
  initial: (): Task => initialState(),
  apply: (state: Task, event: TaskEvent): Task => evolve(state, event),
};

/** The state a stored view stands for (`none` when there is no row yet). */
export function stateFromView(view: TaskView | undefined): Task {
  if (!view) return initialState();
  const { version: _version, ...task } = view;
  return task;
}

/**
 * How one stream's change moves a user's counts: -1 in the status it left, +1 in the one it
 * entered. Summed per owner over a batch, it becomes one upsert per owner.
 */
export function statsDelta(before: Task, after: Task, into: Map<string, StatusCounts>): void {
  if (after.status === 'none' || before.status === after.status) return;
  const counts = into.get(after.ownerId) ?? emptyCounts();
  if (before.status !== 'none') counts[before.status] -= 1;
  counts[after.status] += 1;
  into.set(after.ownerId, counts);
}

/**
 * Folds a stream's events (in version order) from nothing: what a replay of the event store
 * yields, the reference the read model is checked against.
 */
export function replayTask(events: readonly TaskEvent[]): TaskView | undefined {
  let state: Task = initialState();
  for (const event of events) state = evolve(state, event);
  return state.status === 'none' ? undefined : { ...state, version: events.length };
}
