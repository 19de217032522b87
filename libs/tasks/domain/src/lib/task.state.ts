import { assertNever } from '@cqrs/util';
import type { TaskEvent, TaskPriority } from './task.events';

/**
 * Version of the {@link Task} state's shape. Bump it whenever `evolve` or the shape changes:
 * snapshots written with another version are ignored and the stream is replayed instead.
 */
export const STATE_SCHEMA_VERSION = 1;

/** Where a task is in its lifecycle. `completed`, `abandoned` and `deleted` are final. */
export type TaskStatus = 'open' | 'started' | 'completed' | 'abandoned' | 'deleted';

/** A task that has been created. Plain JSON (strings, nulls) so it can be snapshotted as is. */
export interface ExistingTask {
  status: TaskStatus;
  taskId: string;
  ownerId: string;
  title: string;
  description: string | null;
  dueDate: string | null;
  priority: TaskPriority;
  createdAt: string;
  /** When the task last changed in any way (created, updated, started, ...). */
  updatedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  abandonedAt: string | null;
  abandonReason: string | null;
  deletedAt: string | null;
}

/** The state of a task stream: nothing yet, or a task. */
export type Task = { status: 'none' } | ExistingTask;

export const initialState = (): Task => ({ status: 'none' });

/**
 * Applies one recorded event. Events are facts already accepted by `decide`, so evolve does no
 * validation; an event that cannot follow the current state means the stream is corrupt, and
 * failing loudly beats building a task out of thin air.
 */
export function evolve(state: Task, event: TaskEvent): Task {
  if (event.type === 'TaskCreated') {
    if (state.status !== 'none') throw corrupt(event, state);
    const { taskId, ownerId, title, description, dueDate, priority, createdAt } = event.data;
    return {
      status: 'open',
      taskId,
      ownerId,
      title,
      description: description ?? null,
      dueDate: dueDate ?? null,
      priority,
      createdAt,
      updatedAt: createdAt,
      startedAt: null,
      completedAt: null,
      abandonedAt: null,
      abandonReason: null,
      deletedAt: null,
    };
  }
  if (state.status === 'none') throw corrupt(event, state);
  switch (event.type) {
    case 'TaskUpdated': {
      const { title, description, dueDate, updatedAt } = event.data;
      return {
        ...state,
        ...(title !== undefined && { title }),
        ...(description !== undefined && { description }),
        ...(dueDate !== undefined && { dueDate }),
        updatedAt,
      };
    }
    case 'TaskStarted':
      return { ...state, status: 'started', startedAt: event.data.startedAt, updatedAt: event.data.startedAt };
    case 'TaskCompleted':
      return { ...state, status: 'completed', completedAt: event.data.completedAt, updatedAt: event.data.completedAt };
    case 'TaskAbandoned':
      return {
        ...state,
        status: 'abandoned',
        abandonedAt: event.data.abandonedAt,
        abandonReason: event.data.reason,
        updatedAt: event.data.abandonedAt,
      };
    case 'TaskDeleted':
      return { ...state, status: 'deleted', deletedAt: event.data.deletedAt, updatedAt: event.data.deletedAt };
    default:
      return assertNever(event, 'task event');
  }
}

function corrupt(event: TaskEvent, state: Task): Error {
  return new Error(`corrupt task stream: ${event.type} cannot follow state '${state.status}'`);
}
