import type { components as commandComponents } from '../generated/commands';
import type { components as queryComponents } from '../generated/queries';

type CommandSchemas = commandComponents['schemas'];
type QuerySchemas = queryComponents['schemas'];

/** `POST /tasks` body. */
export type CreateTaskBody = CommandSchemas['CreateTaskDto'];
/** `PATCH /tasks/{id}` body: at least one of title, description, dueDate (null clears). */
export type UpdateTaskBody = CommandSchemas['UpdateTaskDto'];
/** What a task command answers: the task id and its stream version after the command. */
export type TaskCommandResult = CommandSchemas['TaskCommandResponseDto'];
/** `POST /projects` body. */
export type CreateProjectBody = CommandSchemas['CreateProjectDto'];
/** What a project command answers: the project id and its stream version after the command. */
export type ProjectCommandResult = CommandSchemas['ProjectCommandResponseDto'];

/** `GET /tasks/{id}`. */
export type TaskView = QuerySchemas['TaskViewDto'];
/** `GET /me/tasks`, `GET /users/{userId}/tasks`: a page, newest first. */
export type TaskPage = QuerySchemas['TaskPageDto'];
/** `GET /me/stats`, `GET /users/{userId}/stats`. */
export type UserTaskStats = QuerySchemas['UserTaskStatsDto'];
/** `GET /projects/{id}`. */
export type ProjectView = QuerySchemas['ProjectViewDto'];
/** `GET /me/projects`. */
export type ProjectList = QuerySchemas['ProjectListDto'];

/** What every command may carry besides its body. */
export interface CommandControls {
  /**
   * The version the caller read (`version` of the view, or of the last command's answer): sent as
   * `If-Match: "<version>"`, so the command fails with a {@link ConflictError} (412
   * `VERSION_MISMATCH`) if the entity changed since. Absent: last write wins.
   */
  expectedVersion?: number;
  /** Makes retries repeat-safe; a fresh one per `mutate` call when absent. */
  idempotencyKey?: string;
}

export type CreateTaskVariables = CreateTaskBody & Pick<CommandControls, 'idempotencyKey'>;
export interface PatchTaskVariables extends CommandControls {
  id: string;
  changes: UpdateTaskBody;
}
export interface RenameTaskVariables extends CommandControls {
  id: string;
  title: string;
}
/** start, complete, delete. */
export interface TaskVariables extends CommandControls {
  id: string;
}
export interface AbandonTaskVariables extends TaskVariables {
  reason: string;
}

export type CreateProjectVariables = CreateProjectBody & Pick<CommandControls, 'idempotencyKey'>;
export interface RenameProjectVariables extends CommandControls {
  id: string;
  name: string;
}
/** archive. */
export interface ProjectVariables extends CommandControls {
  id: string;
}
export interface AddTaskToProjectVariables extends CommandControls {
  /** The project. */
  id: string;
  taskId: string;
}
