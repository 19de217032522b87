/** The statuses the query service answers (deleted tasks are not listed). */
export type TaskStatus = 'open' | 'started' | 'completed' | 'abandoned';
export type TaskAction = 'start' | 'complete' | 'abandon' | 'delete';

export interface BoardColumn {
  status: TaskStatus;
  /** The column's heading and accessible name. */
  label: string;
}

export const COLUMNS: readonly BoardColumn[] = [
  { status: 'open', label: 'Open' },
  { status: 'started', label: 'In progress' },
  { status: 'completed', label: 'Done' },
  { status: 'abandoned', label: 'Abandoned' },
];

export const statusLabel = (status: TaskStatus) => COLUMNS.find((c) => c.status === status)?.label ?? status;

/** The commands a task accepts in each status (libs/tasks/domain's lifecycle). */
export function actionsFor(status: TaskStatus): TaskAction[] {
  switch (status) {
    case 'open':
      return ['start', 'abandon', 'delete'];
    case 'started':
      return ['complete', 'abandon', 'delete'];
    case 'completed':
    case 'abandoned':
      return ['delete'];
    default: {
      const unknownStatus: never = status;
      return unknownStatus;
    }
  }
}

/** The status a task is in after an accepted command, or null when it leaves the board. */
export function statusAfter(action: TaskAction): TaskStatus | null {
  switch (action) {
    case 'start':
      return 'started';
    case 'complete':
      return 'completed';
    case 'abandon':
      return 'abandoned';
    case 'delete':
      return null;
    default: {
      const unknownAction: never = action;
      return unknownAction;
    }
  }
}

/** Tasks by column, each column in the order given (newest first, as the service lists them). */
export function groupByStatus<T extends { status: TaskStatus }>(tasks: readonly T[]): Record<TaskStatus, T[]> {
  const columns: Record<TaskStatus, T[]> = { open: [], started: [], completed: [], abandoned: [] };
  for (const task of tasks) columns[task.status]?.push(task);
  return columns;
}

/**
 * The board as it is once `action` on `taskId` is accepted, before the read side says so: the
 * card moves (or goes) at once, and the refetch that follows carries the command's version as its
 * minimum, so it never shows the old state again.
 */
export function applyAction<T extends { taskId: string; status: TaskStatus }>(
  tasks: readonly T[],
  taskId: string,
  action: TaskAction,
): T[] {
  const next = statusAfter(action);
  return next === null
    ? tasks.filter((t) => t.taskId !== taskId)
    : tasks.map((t) => (t.taskId === taskId ? { ...t, status: next } : t));
}
