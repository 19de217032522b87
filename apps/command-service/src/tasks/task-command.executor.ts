import { handleCommand, type AggregateCache, type EventStore, type OutboxEncodeInput } from '@cqrs/event-store';
import {
  isVisibleTo,
  STATE_SCHEMA_VERSION,
  taskDecider,
  validateTaskCommand,
  type TaskCommand,
  type TaskEvent,
} from '@cqrs/tasks-domain';
import { currentTraceCarrier, withSpan } from '@cqrs/observability';
import { Inject, Injectable } from '@nestjs/common';
import type { ICommandHandler } from '@nestjs/cqrs';
import { AGGREGATE_CACHE, EVENT_STORE } from '../event-store/event-store.module';
import type { CommandContext } from './command-context';
import { TaskEventEncoder } from './task-event.encoder';

/** Aggregate type of tasks: the outbox `aggregatetype`, so the topic is `tasks.task.events`. */
export const TASK_STREAM_TYPE = 'tasks.task';

/** What every task command answers: the stream and its version afterwards (also the ETag). */
export interface TaskCommandResponse {
  taskId: string;
  version: number;
}

/** The bus's answer: the response plus whether it was replayed for a repeated Idempotency-Key. */
export interface TaskCommandResult {
  response: TaskCommandResponse;
  replayed: boolean;
}

/** A domain command on its way through Nest's CommandBus, with its HTTP context. */
export abstract class TaskCommandMessage<C extends TaskCommand = TaskCommand> {
  constructor(
    readonly command: C,
    readonly context: CommandContext,
  ) {}
}

/**
 * Runs any task command: load the stream (from its snapshot), decide, append events + outbox +
 * snapshot + idempotency record in one transaction. No business rule lives here.
 */
@Injectable()
export class TaskCommandExecutor {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly encoder: TaskEventEncoder,
    @Inject(AGGREGATE_CACHE) private readonly cache: AggregateCache | null,
  ) {}

  execute(command: TaskCommand, context: CommandContext): Promise<TaskCommandResult> {
    return withSpan(`command.${command.type}`, () => this.run(command, context), {
      attributes: {
        'cqrs.command.type': command.type,
        'cqrs.stream.id': command.data.taskId,
        'cqrs.correlation_id': context.correlationId,
      },
    });
  }

  private async run(command: TaskCommand, context: CommandContext): Promise<TaskCommandResult> {
    const taskId = command.data.taskId;
    // The command span's context rides in the outbox row, so the relay, Kafka and the projector
    // continue this trace. Without tracing, a valid incoming traceparent is passed on (normalised).
    const carrier = currentTraceCarrier();
    const metadata = {
      correlationId: context.correlationId,
      causationId: context.causationId,
      traceparent: carrier.traceparent ?? context.traceparent,
      tracestate: carrier.traceparent ? carrier.tracestate : context.tracestate,
    };
    const result = await handleCommand(this.store, {
      streamId: taskId,
      streamType: TASK_STREAM_TYPE,
      decider: taskDecider,
      command,
      validate: validateTaskCommand,
      stateSchemaVersion: STATE_SCHEMA_VERSION,
      expectedVersion: context.expectedVersion,
      // Someone else's task is decided as one that does not exist: the same 404, or 412 naming version 0.
      visible: (state) => isVisibleTo(state, command.metadata.actor),
      cache: this.cache ?? undefined,
      newStream: context.newStream,
      metadata,
      toNewEvent: (event) => ({ ...event, schemaVersion: this.encoder.schemaVersionOf(event.type) }),
      outbox: {
        aggregateType: TASK_STREAM_TYPE,
        encode: (input: OutboxEncodeInput<TaskEvent>) => this.encoder.encode(input, metadata),
      },
      idempotency: context.idempotencyKey
        ? {
            // Per caller: the same key from two callers is two requests, never a replay.
            scope: `${context.subject} ${context.route}`,
            key: context.idempotencyKey,
            requestHash: context.requestHash,
          }
        : undefined,
      respond: (outcome): TaskCommandResponse => ({ taskId, version: outcome.version }),
    });
    return { response: result.response, replayed: result.replayed };
  }
}

/** Base of the thin per-command handlers: each use case only binds its command class. */
@Injectable()
export abstract class TaskCommandHandler<M extends TaskCommandMessage>
  implements ICommandHandler<TaskCommandMessage, TaskCommandResult>
{
  constructor(private readonly executor: TaskCommandExecutor) {}

  execute({ command, context }: M): Promise<TaskCommandResult> {
    return this.executor.execute(command, context);
  }
}
