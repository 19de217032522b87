/**
 * Test-only entry of the tasks domain (`@cqrs/tasks-domain/testing`): the given/when/then
 * harness bound to the Task decider, and builders for commands and events with sensible
 * defaults so a spec states only what matters to it.
 */
import { deciderSpec } from '@cqrs/util';
import type { AbandonTask, CompleteTask, CreateTask, DeleteTask, StartTask, UpdateTask } from './lib/task.commands';
import { taskDecider } from './lib/task.decider';
import type {
  TaskAbandoned,
  TaskCompleted,
  TaskCreated,
  TaskDeleted,
  TaskStarted,
  TaskUpdated,
} from './lib/task.events';

/** `given([events]).when(command).then([events])` / `.thenThrows(code)` for the Task aggregate. */
export const { given } = deciderSpec(taskDecider);

export const TASK_ID = '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11';
export const OWNER_ID = 'user-42';
/** Distinct instants, in order, so a spec can tell which command stamped which field. */
export const T = {
  created: '2025-01-01T09:00:00.000Z',
  updated: '2025-01-01T10:00:00.000Z',
  started: '2025-01-02T09:00:00.000Z',
  completed: '2025-01-03T09:00:00.000Z',
  abandoned: '2025-01-03T10:00:00.000Z',
  deleted: '2025-01-04T09:00:00.000Z',
  now: '2025-01-05T09:00:00.000Z',
} as const;

const meta = (now: string = T.now) => ({ now, actor: OWNER_ID });

export const createTask = (data: Partial<CreateTask['data']> = {}, now?: string): CreateTask => ({
  type: 'CreateTask',
  data: { taskId: TASK_ID, ownerId: OWNER_ID, title: 'Write the report', ...data },
  metadata: meta(now),
});
export const updateTask = (data: Omit<UpdateTask['data'], 'taskId'>, now?: string): UpdateTask => ({
  type: 'UpdateTask',
  data: { taskId: TASK_ID, ...data },
  metadata: meta(now),
});
export const startTask = (now?: string): StartTask => ({
  type: 'StartTask',
  data: { taskId: TASK_ID },
  metadata: meta(now),
});
export const completeTask = (now?: string): CompleteTask => ({
  type: 'CompleteTask',
  data: { taskId: TASK_ID },
  metadata: meta(now),
});
export const abandonTask = (reason = 'no longer needed', now?: string): AbandonTask => ({
  type: 'AbandonTask',
  data: { taskId: TASK_ID, reason },
  metadata: meta(now),
});
export const deleteTask = (now?: string): DeleteTask => ({
  type: 'DeleteTask',
  data: { taskId: TASK_ID },
  metadata: meta(now),
});

export const taskCreated = (data: Partial<TaskCreated['data']> = {}): TaskCreated => ({
  type: 'TaskCreated',
  data: {
    taskId: TASK_ID,
    ownerId: OWNER_ID,
    title: 'Write the report',
    priority: 'NORMAL',
    createdAt: T.created,
    ...data,
  },
});
export const taskUpdated = (
  data: Omit<TaskUpdated['data'], 'taskId' | 'updatedAt'>,
  updatedAt: string = T.updated,
): TaskUpdated => ({
  type: 'TaskUpdated',
  data: { taskId: TASK_ID, ...data, updatedAt },
});
export const taskStarted = (startedAt: string = T.started): TaskStarted => ({
  type: 'TaskStarted',
  data: { taskId: TASK_ID, startedAt },
});
export const taskCompleted = (completedAt: string = T.completed): TaskCompleted => ({
  type: 'TaskCompleted',
  data: { taskId: TASK_ID, completedAt },
});
export const taskAbandoned = (reason = 'no longer needed', abandonedAt: string = T.abandoned): TaskAbandoned => ({
  type: 'TaskAbandoned',
  data: { taskId: TASK_ID, reason, abandonedAt },
});
export const taskDeleted = (deletedAt: string = T.deleted): TaskDeleted => ({
  type: 'TaskDeleted',
  data: { taskId: TASK_ID, deletedAt },
});

/** Histories that put a task in each status, for specs that sweep every state. */
export const HISTORY = {
  none: [],
  open: [taskCreated()],
  started: [taskCreated(), taskStarted()],
  completed: [taskCreated(), taskStarted(), taskCompleted()],
  abandoned: [taskCreated(), taskAbandoned()],
  deleted: [taskCreated(), taskDeleted()],
} as const;
