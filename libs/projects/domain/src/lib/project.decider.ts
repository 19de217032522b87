import { assertNever, type Decider } from '@cqrs/util';
import type {
  CreateProject,
  ProjectCommand,
  RenameProject,
  ArchiveProject,
  AddTaskToProject,
} from './project.commands';
import {
  projectAlreadyExists,
  projectArchived,
  projectFull,
  projectNotFound,
  taskAlreadyInProject,
} from './project.errors';
import type { ProjectEvent } from './project.events';
import { evolve, type ExistingProject, initialState, type Project } from './project.state';
import { FieldChecks, PROJECT_LIMITS, projectIdInput } from './project.validation';

/**
 * Decides what a command means for a project: the events to record, or a DomainError
 * (VALIDATION_FAILED, PROJECT_NOT_FOUND, PROJECT_ALREADY_EXISTS, PROJECT_ARCHIVED,
 * TASK_ALREADY_IN_PROJECT, PROJECT_FULL) and no event. Input rules are
 * checked before the state, so a malformed command is always a VALIDATION_FAILED.
 */
export function decide(command: ProjectCommand, state: Project): ProjectEvent[] {
  switch (command.type) {
    case 'CreateProject':
      return create(command, state);
    case 'RenameProject':
      return renameProject(command, state);
    case 'ArchiveProject':
      return archiveProject(command, state);
    case 'AddTaskToProject':
      return addTaskToProject(command, state);
    default:
      return assertNever(command, 'project command');
  }
}

/** The Project aggregate as one value, for generic helpers (event store, spec harness). */
export const projectDecider: Decider<Project, ProjectCommand, ProjectEvent> = { decide, evolve, initialState };

/**
 * The command's input rules alone, without the state: throws VALIDATION_FAILED naming every bad
 * field. `decide` applies them first too; the write side calls this before it loads anything.
 */
export function validateProjectCommand(command: ProjectCommand): void {
  switch (command.type) {
    case 'CreateProject':
      return void createInput(command.data);
    case 'RenameProject':
      return void renameInput(command.data);
    case 'ArchiveProject':
      return projectIdInput(command.data);
    case 'AddTaskToProject':
      return void addTaskInput(command.data);
    default:
      return assertNever(command, 'project command');
  }
}

function createInput(data: CreateProject['data']) {
  const checks = new FieldChecks();
  const input = {
    projectId: checks.id('projectId', data.projectId),
    ownerId: checks.id('ownerId', data.ownerId),
    name: checks.requiredText('name', data.name, PROJECT_LIMITS.nameMaxLength),
  };
  checks.throwIfInvalid();
  return input;
}

function create({ data, metadata }: CreateProject, state: Project): ProjectEvent[] {
  const { projectId, ownerId, name } = createInput(data);
  if (state.status !== 'none') throw projectAlreadyExists(projectId);
  return [{ type: 'ProjectCreated', data: { projectId, ownerId, name, createdAt: metadata.now } }];
}

/**
 * The existing project if `actor` owns it, PROJECT_NOT_FOUND otherwise: someone else's answers
 * exactly as a missing one, so ids cannot be probed. Every command but the create starts here.
 */
export function ownedProject(projectId: string, state: Project, actor: string): ExistingProject {
  if (state.status === 'none' || state.ownerId !== actor) throw projectNotFound(projectId);
  return state;
}

function renameInput(data: RenameProject['data']) {
  const checks = new FieldChecks();
  const input = {
    projectId: checks.id('projectId', data.projectId),
    name: checks.requiredText('name', data.name, PROJECT_LIMITS.nameMaxLength),
  };
  checks.throwIfInvalid();
  return input;
}

function addTaskInput(data: AddTaskToProject['data']) {
  const checks = new FieldChecks();
  const input = { projectId: checks.id('projectId', data.projectId), taskId: checks.id('taskId', data.taskId) };
  checks.throwIfInvalid();
  return input;
}

/** The owned project, if it is still active (PROJECT_ARCHIVED otherwise). */
function activeProject(projectId: string, state: Project, actor: string): ExistingProject {
  const project = ownedProject(projectId, state, actor);
  if (project.status === 'archived') throw projectArchived(projectId);
  return project;
}

function renameProject({ data, metadata }: RenameProject, state: Project): ProjectEvent[] {
  const { projectId, name } = renameInput(data);
  activeProject(projectId, state, metadata.actor);
  return [{ type: 'ProjectRenamed', data: { projectId, name, occurredAt: metadata.now } }];
}

function archiveProject({ data, metadata }: ArchiveProject, state: Project): ProjectEvent[] {
  projectIdInput(data);
  const project = activeProject(data.projectId, state, metadata.actor);
  return [{ type: 'ProjectArchived', data: { projectId: project.projectId, occurredAt: metadata.now } }];
}

function addTaskToProject({ data, metadata }: AddTaskToProject, state: Project): ProjectEvent[] {
  const { projectId, taskId } = addTaskInput(data);
  const project = activeProject(projectId, state, metadata.actor);
  if (project.taskIds.includes(taskId)) throw taskAlreadyInProject(projectId, taskId);
  if (project.taskIds.length >= PROJECT_LIMITS.maxTasks) throw projectFull(projectId, PROJECT_LIMITS.maxTasks);
  return [{ type: 'TaskAddedToProject', data: { projectId, taskId, occurredAt: metadata.now } }];
}
