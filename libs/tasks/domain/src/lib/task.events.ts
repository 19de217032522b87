/**
 * Events of the Task aggregate. The `type` strings are the wire event types (schemas/tasks/task)
 * and must never change; a breaking change is a new event type.
 */

/** How urgent a task is. */
export type TaskPriority = 'LOW' | 'NORMAL' | 'HIGH';
export const TASK_PRIORITIES: readonly TaskPriority[] = ['LOW', 'NORMAL', 'HIGH'];
export const DEFAULT_TASK_PRIORITY: TaskPriority = 'NORMAL';

export interface TaskCreated {
  type: 'TaskCreated';
  data: {
    taskId: string;
    ownerId: string;
    title: string;
    /** Absent when the task has no description. */
    description?: string;
    /** ISO-8601 date (`2025-12-31`) or date-time with offset; absent when there is none. */
    dueDate?: string;
    priority: TaskPriority;
    createdAt: string;
  };
}

/**
 * Carries only the fields that changed: an absent field is unchanged, `null` clears an
 * optional field (description, due date). The title can change but never be cleared.
 */
export interface TaskUpdated {
  type: 'TaskUpdated';
  data: {
    taskId: string;
    title?: string;
    description?: string | null;
    dueDate?: string | null;
    updatedAt: string;
  };
}

export interface TaskStarted {
  type: 'TaskStarted';
  data: { taskId: string; startedAt: string };
}

export interface TaskCompleted {
  type: 'TaskCompleted';
  data: { taskId: string; completedAt: string };
}

export interface TaskAbandoned {
  type: 'TaskAbandoned';
  data: { taskId: string; reason: string; abandonedAt: string };
}

export interface TaskDeleted {
  type: 'TaskDeleted';
  data: { taskId: string; deletedAt: string };
}

export type TaskEvent = TaskCreated | TaskUpdated | TaskStarted | TaskCompleted | TaskAbandoned | TaskDeleted;
export type TaskEventType = TaskEvent['type'];

/** Every event type, e.g. to register schemas or route projections. */
export const TASK_EVENT_TYPES: readonly TaskEventType[] = [
  'TaskCreated',
  'TaskUpdated',
  'TaskStarted',
  'TaskCompleted',
  'TaskAbandoned',
  'TaskDeleted',
];

/**
 * Event types that end a task's lifecycle: after one, only a delete may follow (and nothing after
 * a delete). A stream whose last event is one of them, and old, is cold: the event store may
 * archive it (an event after archiving is still accepted, and the stream archived again later).
 */
export const TASK_TERMINAL_EVENT_TYPES: readonly TaskEventType[] = ['TaskCompleted', 'TaskAbandoned', 'TaskDeleted'];
