import { CommonErrorCode, DomainError } from '@cqrs/util';
import type { TaskCommandType } from './task.commands';
import type { TaskStatus } from './task.state';

/** Stable error codes of the tasks context (part of the HTTP contract: problem+json `code`). */
export const TaskErrorCode = {
  /** 404: the task never existed, or was deleted. */
  TASK_NOT_FOUND: 'TASK_NOT_FOUND',
  /** 409: a CreateTask for an id that is (or was) already used. */
  TASK_ALREADY_EXISTS: 'TASK_ALREADY_EXISTS',
  /** 409: the command is not allowed in the task's current status. */
  INVALID_TRANSITION: 'INVALID_TRANSITION',
  /** 400: the command's fields break a rule (details.errors lists each field). */
  VALIDATION_FAILED: CommonErrorCode.VALIDATION_FAILED,
} as const;
export type TaskErrorCode = (typeof TaskErrorCode)[keyof typeof TaskErrorCode];

export const taskNotFound = (taskId: string, deleted = false) =>
  new DomainError(
    TaskErrorCode.TASK_NOT_FOUND,
    'not_found',
    deleted ? `task ${taskId} was deleted` : `task ${taskId} does not exist`,
    { details: { taskId } },
  );

export const taskAlreadyExists = (taskId: string) =>
  new DomainError(TaskErrorCode.TASK_ALREADY_EXISTS, 'conflict', `task ${taskId} already exists`, {
    details: { taskId },
  });

export const invalidTransition = (taskId: string, command: TaskCommandType, status: TaskStatus) =>
  new DomainError(TaskErrorCode.INVALID_TRANSITION, 'conflict', `${command} is not allowed on a ${status} task`, {
    details: { taskId, command, taskStatus: status },
  });
