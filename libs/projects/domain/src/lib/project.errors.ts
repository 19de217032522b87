import { CommonErrorCode, DomainError } from '@cqrs/util';

/** Stable error codes of the projects context (part of the HTTP contract: problem+json `code`). */
export const ProjectErrorCode = {
  /** 404: the project never existed, or is someone else's. */
  PROJECT_NOT_FOUND: 'PROJECT_NOT_FOUND',
  /** 409: a CreateProject for an id that is already used. */
  PROJECT_ALREADY_EXISTS: 'PROJECT_ALREADY_EXISTS',
  /** 409: the project is archived, and takes no more commands. */
  PROJECT_ARCHIVED: 'PROJECT_ARCHIVED',
  /** 409: the task is in the project already. */
  TASK_ALREADY_IN_PROJECT: 'TASK_ALREADY_IN_PROJECT',
  /** 409: the project holds PROJECT_LIMITS.maxTasks tasks already. */
  PROJECT_FULL: 'PROJECT_FULL',
  /** 400: the command's fields break a rule (details.errors lists each field). */
  VALIDATION_FAILED: CommonErrorCode.VALIDATION_FAILED,
} as const;
export type ProjectErrorCode = (typeof ProjectErrorCode)[keyof typeof ProjectErrorCode];

export const projectNotFound = (projectId: string) =>
  new DomainError(ProjectErrorCode.PROJECT_NOT_FOUND, 'not_found', `project ${projectId} does not exist`, {
    details: { projectId },
  });

export const projectAlreadyExists = (projectId: string) =>
  new DomainError(ProjectErrorCode.PROJECT_ALREADY_EXISTS, 'conflict', `project ${projectId} already exists`, {
    details: { projectId },
  });

export const projectArchived = (projectId: string) =>
  new DomainError(ProjectErrorCode.PROJECT_ARCHIVED, 'conflict', `project ${projectId} is archived`, {
    details: { projectId },
  });

export const taskAlreadyInProject = (projectId: string, taskId: string) =>
  new DomainError(
    ProjectErrorCode.TASK_ALREADY_IN_PROJECT,
    'conflict',
    `task ${taskId} is in project ${projectId} already`,
    { details: { projectId, taskId } },
  );

export const projectFull = (projectId: string, maxTasks: number) =>
  new DomainError(ProjectErrorCode.PROJECT_FULL, 'conflict', `project ${projectId} holds ${maxTasks} tasks already`, {
    details: { projectId, maxTasks },
  });
