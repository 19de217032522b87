import type { AggregateCache, EventStore } from '@cqrs/event-store';
import {
  isVisibleTo,
  STATE_SCHEMA_VERSION,
  taskDecider,
  validateTaskCommand,
  type Task,
  type TaskCommand,
  type TaskEvent,
} from '@cqrs/tasks-domain';
import { Inject, Injectable } from '@nestjs/common';
import type { ICommandHandler } from '@nestjs/cqrs';
import {
  AggregateCommandExecutor,
  AggregateCommandHandler,
  CommandMessage,
  type AggregateCommandDefinition,
  type AggregateCommandResponse,
  type AggregateCommandResult,
} from '../commands';
import { AGGREGATE_CACHE, EVENT_STORE } from '../event-store/event-store.module';
import { TaskEventEncoder } from './task-event.encoder';

/** Aggregate type of tasks: the outbox `aggregatetype`, so the topic is `tasks.task.events`. */
export const TASK_STREAM_TYPE = 'tasks.task';

/** What every task command answers: the stream and its version afterwards (also the ETag). */
export type TaskCommandResponse = AggregateCommandResponse<'taskId'>;

/** The bus's answer: the response plus whether it was replayed for a repeated Idempotency-Key. */
export type TaskCommandResult = AggregateCommandResult<'taskId'>;

/** The task aggregate's commands, as the shared executor runs them. */
export const TASK_COMMANDS: AggregateCommandDefinition<Task, TaskCommand, TaskEvent, 'taskId'> = {
  streamType: TASK_STREAM_TYPE,
  decider: taskDecider,
  validate: validateTaskCommand,
  stateSchemaVersion: STATE_SCHEMA_VERSION,
  // Someone else's task is decided as one that does not exist: the same 404, or 412 naming version 0.
  visible: (state, command) => isVisibleTo(state, command.metadata.actor),
  idField: 'taskId',
};

/** A task command on its way through Nest's CommandBus, with its HTTP context. */
export abstract class TaskCommandMessage<C extends TaskCommand = TaskCommand> extends CommandMessage<C> {}

/** Runs any task command on the shared event store (see {@link AggregateCommandExecutor}). */
@Injectable()
export class TaskCommandExecutor extends AggregateCommandExecutor<Task, TaskCommand, TaskEvent, 'taskId'> {
  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    encoder: TaskEventEncoder,
    @Inject(AGGREGATE_CACHE) cache: AggregateCache | null,
  ) {
    super(TASK_COMMANDS, { store, encoder, cache });
  }
}

/** Base of the thin per-command handlers: each use case only binds its command class. */
@Injectable()
export abstract class TaskCommandHandler<M extends TaskCommandMessage>
  extends AggregateCommandHandler<M, TaskCommandResult>
  implements ICommandHandler<TaskCommandMessage, TaskCommandResult>
{
  constructor(executor: TaskCommandExecutor) {
    super(executor);
  }
}
