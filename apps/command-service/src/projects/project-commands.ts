import type { AggregateCache, EventStore } from '@cqrs/event-store';
import {
  projectDecider,
  STATE_SCHEMA_VERSION,
  validateProjectCommand,
  type AddTaskToProject,
  type ArchiveProject,
  type CreateProject,
  type Project,
  type ProjectCommand,
  type ProjectEvent,
  type RenameProject,
} from '@cqrs/projects-domain';
import { Inject, Injectable } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  AggregateCommandExecutor,
  AggregateCommandHandler,
  CommandMessage,
  type AggregateCommandDefinition,
  type AggregateCommandResponse,
  type AggregateCommandResult,
} from '../commands';
import { AGGREGATE_CACHE, EVENT_STORE } from '../event-store/event-store.module';
import { ProjectEventEncoder } from './project-event.encoder';

/** Aggregate type of projects: the outbox `aggregatetype`, so the topic is `projects.project.events`. */
export const PROJECT_STREAM_TYPE = 'projects.project';

export type ProjectCommandResponse = AggregateCommandResponse<'projectId'>;
export type ProjectCommandResult = AggregateCommandResult<'projectId'>;

/** The project aggregate's commands, as the shared executor runs them. */
export const PROJECT_COMMANDS: AggregateCommandDefinition<Project, ProjectCommand, ProjectEvent, 'projectId'> = {
  streamType: PROJECT_STREAM_TYPE,
  decider: projectDecider,
  validate: validateProjectCommand,
  stateSchemaVersion: STATE_SCHEMA_VERSION,
  // Someone else's project is decided as one that does not exist: the same 404, or 412 naming version 0.
  visible: (state, command) => state.status === 'none' || state.ownerId === command.metadata.actor,
  idField: 'projectId',
};

@Injectable()
export class ProjectCommandExecutor extends AggregateCommandExecutor<
  Project,
  ProjectCommand,
  ProjectEvent,
  'projectId'
> {
  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    encoder: ProjectEventEncoder,
    @Inject(AGGREGATE_CACHE) cache: AggregateCache | null,
  ) {
    super(PROJECT_COMMANDS, { store, encoder, cache });
  }
}

/** Base of the per-command handlers: each only binds its command class. */
@Injectable()
abstract class ProjectCommandHandler<M extends CommandMessage<ProjectCommand>>
  extends AggregateCommandHandler<M, ProjectCommandResult>
  implements ICommandHandler<CommandMessage<ProjectCommand>, ProjectCommandResult>
{
  constructor(executor: ProjectCommandExecutor) {
    super(executor);
  }
}

export class CreateProjectCommand extends CommandMessage<CreateProject> {}
export class RenameProjectCommand extends CommandMessage<RenameProject> {}
export class ArchiveProjectCommand extends CommandMessage<ArchiveProject> {}
export class AddTaskToProjectCommand extends CommandMessage<AddTaskToProject> {}

@CommandHandler(CreateProjectCommand)
export class CreateProjectHandler extends ProjectCommandHandler<CreateProjectCommand> {}
@CommandHandler(RenameProjectCommand)
export class RenameProjectHandler extends ProjectCommandHandler<RenameProjectCommand> {}
@CommandHandler(ArchiveProjectCommand)
export class ArchiveProjectHandler extends ProjectCommandHandler<ArchiveProjectCommand> {}
@CommandHandler(AddTaskToProjectCommand)
export class AddTaskToProjectHandler extends ProjectCommandHandler<AddTaskToProjectCommand> {}

export const PROJECT_COMMAND_HANDLERS = [
  CreateProjectHandler,
  RenameProjectHandler,
  ArchiveProjectHandler,
  AddTaskToProjectHandler,
];
