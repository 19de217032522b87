import { assertNever, type Decider } from '@cqrs/util';
import type {
  AbandonTask,
  CompleteTask,
  CreateTask,
  DeleteTask,
  StartTask,
  TaskCommand,
  TaskCommandType,
  UpdateTask,
} from './task.commands';
import { DEFAULT_TASK_PRIORITY, type TaskCreated, type TaskEvent, type TaskUpdated } from './task.events';
import { invalidTransition, taskAlreadyExists, taskNotFound } from './task.errors';
import { evolve, type ExistingTask, initialState, type Task, type TaskStatus } from './task.state';
import { FieldChecks, TASK_LIMITS } from './task.validation';

/**
 * The lifecycle as data: the statuses in which each command is accepted.
 *
 * open ──start──▶ started ──complete──▶ completed
 *   │               │
 *   └──abandon──────┴──▶ abandoned        any but deleted ──delete──▶ deleted
 *
 * Completed and abandoned are final for the lifecycle (no update, start, complete or abandon),
 * yet can still be deleted: a user clears finished tasks off their list. A deleted task accepts
 * nothing and answers TASK_NOT_FOUND, as it would after a hard delete.
 */
export const ALLOWED_IN: Readonly<Record<Exclude<TaskCommandType, 'CreateTask'>, readonly TaskStatus[]>> = {
  UpdateTask: ['open', 'started'],
  StartTask: ['open'],
  CompleteTask: ['started'],
  AbandonTask: ['open', 'started'],
  DeleteTask: ['open', 'started', 'completed', 'abandoned'],
};

/**
 * Decides what a command means for a task: the events to record, or a DomainError
 * (VALIDATION_FAILED, TASK_NOT_FOUND, TASK_ALREADY_EXISTS, INVALID_TRANSITION) and no event.
 * Input rules are checked before the task's state, so a malformed command is always a 400.
 * An update that changes nothing is accepted and records nothing (so retries are harmless);
 * an update naming no field at all is a VALIDATION_FAILED.
 */
export function decide(command: TaskCommand, state: Task): TaskEvent[] {
  switch (command.type) {
    case 'CreateTask':
      return create(command, state);
    case 'UpdateTask':
      return update(command, state);
    case 'StartTask':
      return start(command, state);
    case 'CompleteTask':
      return complete(command, state);
    case 'AbandonTask':
      return abandon(command, state);
    case 'DeleteTask':
      return remove(command, state);
    default:
      return assertNever(command, 'task command');
  }
}

/** The Task aggregate as one value, for generic helpers (event store, spec harness). */
export const taskDecider: Decider<Task, TaskCommand, TaskEvent> = { decide, evolve, initialState };

function create({ data, metadata }: CreateTask, state: Task): TaskEvent[] {
  const checks = new FieldChecks();
  const taskId = checks.id('taskId', data.taskId);
  const ownerId = checks.id('ownerId', data.ownerId);
  const title = checks.requiredText('title', data.title, TASK_LIMITS.titleMaxLength);
  const description = checks.optionalText('description', data.description, TASK_LIMITS.descriptionMaxLength);
  const dueDate = checks.optionalDate('dueDate', data.dueDate);
  const priority = data.priority === undefined ? DEFAULT_TASK_PRIORITY : checks.priority('priority', data.priority);
  checks.throwIfInvalid();

  if (state.status !== 'none') throw taskAlreadyExists(taskId);
  const created: TaskCreated['data'] = { taskId, ownerId, title, priority, createdAt: metadata.now };
  // Optional fields are left out rather than set to undefined: events are stored as JSON.
  if (description !== null) created.description = description;
  if (dueDate !== null) created.dueDate = dueDate;
  return [{ type: 'TaskCreated', data: created }];
}

function update({ type, data, metadata }: UpdateTask, state: Task): TaskEvent[] {
  const checks = new FieldChecks();
  const { title, description, dueDate } = data;
  if (title === undefined && description === undefined && dueDate === undefined) {
    checks.fail('body', 'name at least one of title, description, dueDate');
  }
  const newTitle =
    title === undefined ? undefined : checks.requiredText('title', title, TASK_LIMITS.titleMaxLength);
  const newDescription =
    description === undefined
      ? undefined
      : checks.optionalText('description', description, TASK_LIMITS.descriptionMaxLength);
  const newDueDate = dueDate === undefined ? undefined : checks.optionalDate('dueDate', dueDate);
  checks.throwIfInvalid();

  const task = accepting(type, data.taskId, state);
  // Only real changes are recorded; an update that changes nothing records nothing.
  const changes: TaskUpdated['data'] = { taskId: task.taskId, updatedAt: metadata.now };
  if (newTitle !== undefined && newTitle !== task.title) changes.title = newTitle;
  if (newDescription !== undefined && newDescription !== task.description) changes.description = newDescription;
  if (newDueDate !== undefined && newDueDate !== task.dueDate) changes.dueDate = newDueDate;
  const changed = changes.title !== undefined || changes.description !== undefined || changes.dueDate !== undefined;
  return changed ? [{ type: 'TaskUpdated', data: changes }] : [];
}

function start({ type, data, metadata }: StartTask, state: Task): TaskEvent[] {
  const task = accepting(type, data.taskId, state);
  return [{ type: 'TaskStarted', data: { taskId: task.taskId, startedAt: metadata.now } }];
}

function complete({ type, data, metadata }: CompleteTask, state: Task): TaskEvent[] {
  const task = accepting(type, data.taskId, state);
  return [{ type: 'TaskCompleted', data: { taskId: task.taskId, completedAt: metadata.now } }];
}

function abandon({ type, data, metadata }: AbandonTask, state: Task): TaskEvent[] {
  const checks = new FieldChecks();
  const reason = checks.requiredText('reason', data.reason, TASK_LIMITS.reasonMaxLength);
  checks.throwIfInvalid();
  const task = accepting(type, data.taskId, state);
  return [{ type: 'TaskAbandoned', data: { taskId: task.taskId, reason, abandonedAt: metadata.now } }];
}

function remove({ type, data, metadata }: DeleteTask, state: Task): TaskEvent[] {
  const task = accepting(type, data.taskId, state);
  return [{ type: 'TaskDeleted', data: { taskId: task.taskId, deletedAt: metadata.now } }];
}

/** The existing task if `command` is allowed in its status; the matching DomainError otherwise. */
function accepting(command: keyof typeof ALLOWED_IN, taskId: string, state: Task): ExistingTask {
  if (state.status === 'none') throw taskNotFound(taskId);
  if (state.status === 'deleted') throw taskNotFound(taskId, true);
  if (!ALLOWED_IN[command].includes(state.status)) throw invalidTransition(state.taskId, command, state.status);
  return state;
}
