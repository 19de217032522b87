import { handleCommand, type AggregateCache, type EventStore, type OutboxEncodeInput } from '@cqrs/event-store';
import { currentTraceCarrier, withSpan } from '@cqrs/observability';
import type { Decider, EventEnvelope } from '@cqrs/util';
import type { CommandContext } from './command-context';
import type { OutboxEventEncoder } from './contract-event.encoder';

/** What the executor reads from a command: its type, and the stream id in `data[idField]`. */
export interface AggregateCommandShape<Id extends string> {
  type: string;
  data: { readonly [K in Id]: string };
}

/** One aggregate's commands, as the executor runs them: everything it needs from the domain. */
export interface AggregateCommandDefinition<
  S,
  C extends AggregateCommandShape<Id>,
  E extends EventEnvelope,
  Id extends string,
> {
  /** `<context>.<aggregate>`: the events' stream type and the outbox `aggregatetype` (the topic). */
  streamType: string;
  decider: Decider<S, C, E>;
  /** The domain's input rules, checked before any database call. */
  validate?: (command: C) => void;
  /** The domain's `STATE_SCHEMA_VERSION` (enables snapshots). */
  stateSchemaVersion?: number;
  /**
   * Whether the command's actor may see the loaded aggregate; when not, it is decided as one that
   * does not exist (the same 404, or 412 naming version 0), so ids cannot be probed.
   */
  visible?: (state: S, command: C) => boolean;
  /** The field of `command.data` holding the stream id; the response names it the same way. */
  idField: Id;
}

/** What every command of an aggregate answers: its id and the stream version afterwards (the ETag). */
export type AggregateCommandResponse<Id extends string> = { [K in Id]: string } & { version: number };

/** The response, and whether it was replayed for a repeated Idempotency-Key. */
export interface AggregateCommandResult<Id extends string> {
  response: AggregateCommandResponse<Id>;
  replayed: boolean;
}

/** The service's shared infrastructure a command runs on, and the context's outbox encoder. */
export interface AggregateCommandPorts<E extends EventEnvelope> {
  store: EventStore;
  encoder: OutboxEventEncoder<E>;
  cache?: AggregateCache | null;
}

/**
 * Runs one command of an aggregate in a `command.<type>` span: load the stream (from its
 * snapshot or the cache), decide, append events + outbox + snapshot + idempotency record in one
 * transaction. No business rule lives here.
 */
export function handleAggregateCommand<
  S,
  C extends AggregateCommandShape<Id>,
  E extends EventEnvelope,
  Id extends string,
>(
  definition: AggregateCommandDefinition<S, C, E, Id>,
  ports: AggregateCommandPorts<E>,
  command: C,
  context: CommandContext,
): Promise<AggregateCommandResult<Id>> {
  return withSpan(`command.${command.type}`, () => run(definition, ports, command, context), {
    attributes: {
      'cqrs.command.type': command.type,
      'cqrs.stream.id': command.data[definition.idField],
      'cqrs.correlation_id': context.correlationId,
    },
  });
}

async function run<S, C extends AggregateCommandShape<Id>, E extends EventEnvelope, Id extends string>(
  definition: AggregateCommandDefinition<S, C, E, Id>,
  { store, encoder, cache }: AggregateCommandPorts<E>,
  command: C,
  context: CommandContext,
): Promise<AggregateCommandResult<Id>> {
  const streamId = command.data[definition.idField];
  const { visible } = definition;
  // The command span's context rides in the outbox row, so the relay, Kafka and the projector
  // continue this trace. Without tracing, a valid incoming traceparent is passed on (normalised).
  const carrier = currentTraceCarrier();
  const metadata = {
    correlationId: context.correlationId,
    causationId: context.causationId,
    traceparent: carrier.traceparent ?? context.traceparent,
    tracestate: carrier.traceparent ? carrier.tracestate : context.tracestate,
  };
  const result = await handleCommand(store, {
    streamId,
    streamType: definition.streamType,
    decider: definition.decider,
    command,
    validate: definition.validate,
    stateSchemaVersion: definition.stateSchemaVersion,
    expectedVersion: context.expectedVersion,
    visible: visible && ((state: S) => visible(state, command)),
    cache: cache ?? undefined,
    newStream: context.newStream,
    metadata,
    toNewEvent: (event) => ({ ...event, schemaVersion: encoder.schemaVersionOf(event.type) }),
    outbox: {
      aggregateType: definition.streamType,
      encode: (input: OutboxEncodeInput<E>) => encoder.encode(input, metadata),
    },
    idempotency: context.idempotencyKey
      ? {
          // Per caller: the same key from two callers is two requests, never a replay.
          scope: `${context.subject} ${context.route}`,
          key: context.idempotencyKey,
          requestHash: context.requestHash,
        }
      : undefined,
    respond: (outcome) =>
      ({ [definition.idField]: streamId, version: outcome.version }) as AggregateCommandResponse<Id>,
  });
  return { response: result.response, replayed: result.replayed };
}

/** {@link handleAggregateCommand} bound to one aggregate and the service's ports: a context's executor extends it. */
export class AggregateCommandExecutor<
  S,
  C extends AggregateCommandShape<Id>,
  E extends EventEnvelope,
  Id extends string,
> {
  constructor(
    private readonly definition: AggregateCommandDefinition<S, C, E, Id>,
    private readonly ports: AggregateCommandPorts<E>,
  ) {}

  execute(command: C, context: CommandContext): Promise<AggregateCommandResult<Id>> {
    return handleAggregateCommand(this.definition, this.ports, command, context);
  }
}

/** A domain command on its way through Nest's CommandBus, with its HTTP context. */
export abstract class CommandMessage<C = unknown> {
  constructor(
    readonly command: C,
    readonly context: CommandContext,
  ) {}
}

/**
 * Base of the thin per-command handlers: each use case only binds its message class. A context's
 * subclass declares a constructor taking its executor, so Nest knows what to inject, and
 * implements `ICommandHandler` with its concrete message and result types.
 */
export abstract class AggregateCommandHandler<M extends CommandMessage, R> {
  constructor(private readonly executor: { execute(command: M['command'], context: CommandContext): Promise<R> }) {}

  execute({ command, context }: M): Promise<R> {
    return this.executor.execute(command, context);
  }
}
