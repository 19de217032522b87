import type { TaskPriority } from './task.events';

/**
 * What the outside world tells the domain about the moment a command is handled. The domain
 * never reads a clock or generates ids itself, so deciding stays a pure, repeatable function.
 */
export interface CommandMetadata {
  /** When the command is handled, an ISO-8601 instant (`new Date().toISOString()` at the edge). */
  now: string;
  /**
   * Who issues the command: the authenticated subject. Only a task's owner may change it; to
   * anyone else the task does not exist (TASK_NOT_FOUND, so its existence does not leak).
   */
  actor: string;
}

export interface CreateTask {
  type: 'CreateTask';
  data: {
    /** Generated at the edge (the command service) so a retried create can be recognised. */
    taskId: string;
    /** The creating actor (the edge sets it from the authenticated subject). */
    ownerId: string;
    title: string;
    description?: string;
    dueDate?: string;
    /** @default 'NORMAL' */
    priority?: TaskPriority;
  };
  metadata: CommandMetadata;
}

/** A partial update: an absent field is left unchanged, `null` clears description or due date. */
export interface UpdateTask {
  type: 'UpdateTask';
  data: {
    taskId: string;
    title?: string;
    description?: string | null;
    dueDate?: string | null;
  };
  metadata: CommandMetadata;
}

export interface StartTask {
  type: 'StartTask';
  data: { taskId: string };
  metadata: CommandMetadata;
}

export interface CompleteTask {
  type: 'CompleteTask';
  data: { taskId: string };
  metadata: CommandMetadata;
}

export interface AbandonTask {
  type: 'AbandonTask';
  data: { taskId: string; reason: string };
  metadata: CommandMetadata;
}

export interface DeleteTask {
  type: 'DeleteTask';
  data: { taskId: string };
  metadata: CommandMetadata;
}

export type TaskCommand = CreateTask | UpdateTask | StartTask | CompleteTask | AbandonTask | DeleteTask;
export type TaskCommandType = TaskCommand['type'];
