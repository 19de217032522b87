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
 * Input rules are checked before the task's state, so a malformed command is always a 400. Only
 * the owner (`metadata.actor`) may change a task: for anyone else it does not exist.
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

/**
 * The command's input rules alone, without its task's state: throws VALIDATION_FAILED naming
 * every bad field. `decide` applies them first too; the write side calls this before it loads
 * anything, so malformed input never costs (or reaches) the database.
 */
export function validateTaskCommand(command: TaskCommand): void {
  switch (command.type) {
    case 'CreateTask':
      return void createInput(command.data);
    case 'UpdateTask':
      return void updateInput(command.data);
    case 'AbandonTask':
      return void abandonInput(command.data);
    case 'StartTask':
    case 'CompleteTask':
    case 'DeleteTask':
      return void taskIdInput(command.data);
    default:
      return assertNever(command, 'task command');
  }
}

function createInput(data: CreateTask['data']) {
  const checks = new FieldChecks();
  const input = {
    taskId: checks.id('taskId', data.taskId),
    ownerId: checks.id('ownerId', data.ownerId),
    title: checks.requiredText('title', data.title, TASK_LIMITS.titleMaxLength),
    description: checks.optionalText('description', data.description, TASK_LIMITS.descriptionMaxLength),
    dueDate: checks.optionalDate('dueDate', data.dueDate),
    priority: data.priority === undefined ? DEFAULT_TASK_PRIORITY : checks.priority('priority', data.priority),
  };
  checks.throwIfInvalid();
  return input;
}

function updateInput(data: UpdateTask['data']) {
  const checks = new FieldChecks();
  const { title, description, dueDate } = data;
  checks.id('taskId', data.taskId);
  if (title === undefined && description === undefined && dueDate === undefined) {
    checks.fail('body', 'name at least one of title, description, dueDate');
  }
  const input = {
    title: title === undefined ? undefined : checks.requiredText('title', title, TASK_LIMITS.titleMaxLength),
    description:
      description === undefined
        ? undefined
        : checks.optionalText('description', description, TASK_LIMITS.descriptionMaxLength),
    dueDate: dueDate === undefined ? undefined : checks.optionalDate('dueDate', dueDate),
  };
  checks.throwIfInvalid();
  return input;
}

function abandonInput(data: AbandonTask['data']) {
  const checks = new FieldChecks();
  checks.id('taskId', data.taskId);
  const reason = checks.requiredText('reason', data.reason, TASK_LIMITS.reasonMaxLength);
  checks.throwIfInvalid();
  return { reason };
}

function taskIdInput(data: { taskId: string }): void {
  const checks = new FieldChecks();
  checks.id('taskId', data.taskId);
  checks.throwIfInvalid();
}

function create({ data, metadata }: CreateTask, state: Task): TaskEvent[] {
  const { taskId, ownerId, title, description, dueDate, priority } = createInput(data);
  if (state.status !== 'none') throw taskAlreadyExists(taskId);
  const created: TaskCreated['data'] = { taskId, ownerId, title, priority, createdAt: metadata.now };
  // Optional fields are left out rather than set to undefined: events are stored as JSON.
  if (description !== null) created.description = description;
  if (dueDate !== null) created.dueDate = dueDate;
  return [{ type: 'TaskCreated', data: created }];
}

function update({ type, data, metadata }: UpdateTask, state: Task): TaskEvent[] {
  const { title: newTitle, description: newDescription, dueDate: newDueDate } = updateInput(data);
  const task = accepting(type, data.taskId, state, metadata.actor);
  // Only real changes are recorded; an update that changes nothing records nothing.
  const changes: TaskUpdated['data'] = { taskId: task.taskId, updatedAt: metadata.now };
  if (newTitle !== undefined && newTitle !== task.title) changes.title = newTitle;
  if (newDescription !== undefined && newDescription !== task.description) changes.description = newDescription;
  if (newDueDate !== undefined && newDueDate !== task.dueDate) changes.dueDate = newDueDate;
  const changed = changes.title !== undefined || changes.description !== undefined || changes.dueDate !== undefined;
  return changed ? [{ type: 'TaskUpdated', data: changes }] : [];
}

function start({ type, data, metadata }: StartTask, state: Task): TaskEvent[] {
  taskIdInput(data);
  const task = accepting(type, data.taskId, state, metadata.actor);
  return [{ type: 'TaskStarted', data: { taskId: task.taskId, startedAt: metadata.now } }];
}

function complete({ type, data, metadata }: CompleteTask, state: Task): TaskEvent[] {
  taskIdInput(data);
  const task = accepting(type, data.taskId, state, metadata.actor);
  return [{ type: 'TaskCompleted', data: { taskId: task.taskId, completedAt: metadata.now } }];
}

function abandon({ type, data, metadata }: AbandonTask, state: Task): TaskEvent[] {
  const { reason } = abandonInput(data);
  const task = accepting(type, data.taskId, state, metadata.actor);
  return [{ type: 'TaskAbandoned', data: { taskId: task.taskId, reason, abandonedAt: metadata.now } }];
}

function remove({ type, data, metadata }: DeleteTask, state: Task): TaskEvent[] {
  taskIdInput(data);
  const task = accepting(type, data.taskId, state, metadata.actor);
  return [{ type: 'TaskDeleted', data: { taskId: task.taskId, deletedAt: metadata.now } }];
}

/**
 * Whether `actor` may see the task at all: it is theirs, or there is none. The write side decides
 * someone else's task as a task that does not exist, expected version included, so that no answer
 * (not even a 412 naming the current version) tells it apart from an unknown id.
 */
export const isVisibleTo = (state: Task, actor: string): boolean => state.status === 'none' || state.ownerId === actor;

/**
 * The existing task if `actor` owns it and `command` is allowed in its status; the matching
 * DomainError otherwise. Someone else's task answers exactly as a missing one (not even "was
 * deleted"), so ids cannot be probed.
 */
function accepting(command: keyof typeof ALLOWED_IN, taskId: string, state: Task, actor: string): ExistingTask {
  if (state.status === 'none' || state.ownerId !== actor) throw taskNotFound(taskId);
  if (state.status === 'deleted') throw taskNotFound(taskId, true);
  if (!ALLOWED_IN[command].includes(state.status)) throw invalidTransition(state.taskId, command, state.status);
  return state;
}
