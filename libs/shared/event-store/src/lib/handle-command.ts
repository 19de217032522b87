import type { Decider, EventEnvelope } from '@cqrs/util';
import pRetry from 'p-retry';
import { ConcurrencyError, IdempotencyKeyInUseError } from './event-store.errors';
import type { EventStore } from './postgres-event-store';
import type { EventMetadata, IdempotencyOptions, OutboxOptions } from './event-store.types';

/** What a successful command did, for building its response. */
export interface CommandOutcome<S, E> {
  /** The state after the new events. */
  state: S;
  /** The events recorded (empty when the command changed nothing). */
  events: E[];
  /** The stream's version afterwards: the client's next If-Match / read-your-writes token. */
  version: number;
  globalPositions: number[];
}

export interface HandleCommandOptions<S, C, E extends EventEnvelope, R> {
  streamId: string;
  /** e.g. `tasks.task` */
  streamType: string;
  decider: Decider<S, C, E>;
  command: C;
  /** Enables snapshots (the domain's `STATE_SCHEMA_VERSION`). */
  stateSchemaVersion?: number;
  /**
   * The version the client pinned with If-Match. When given, a stale version fails with a 412
   * and is never retried; when absent, a lost race is retried on fresh state.
   */
  expectedVersion?: number;
  metadata?: EventMetadata;
  outbox?: OutboxOptions<E>;
  /** Makes the command idempotent: a repeat returns the first response and appends nothing. */
  idempotency?: IdempotencyOptions;
  /** The response to return (and to remember for an idempotent repeat); must be JSON. */
  respond?: (outcome: CommandOutcome<S, E>) => R;
  /** Retries after a lost race when the client pinned no version. @default 3 */
  conflictRetries?: number;
  /** Maps a domain event to what is appended (e.g. to set `schemaVersion`). @default identity */
  toNewEvent?: (event: E) => E & { schemaVersion?: number; eventId?: string };
}

/** The result of {@link handleCommand}: either freshly decided, or replayed for a repeated key. */
export type CommandResult<S, E, R> =
  | ({ replayed: false; response: R } & CommandOutcome<S, E>)
  | { replayed: true; response: R; version: number };

/**
 * The whole of a thin command handler (CONVENTIONS §2): replay an idempotent repeat, or load the
 * stream, `decide`, and append the events, outbox rows, snapshot and idempotency record in one
 * transaction. Domain errors from `decide` propagate untouched.
 *
 * @throws ConcurrencyError `VERSION_MISMATCH` (412) when `expectedVersion` is stale,
 *   `CONCURRENCY_CONFLICT` (409) when races were lost more than `conflictRetries` times.
 * @throws IdempotencyKeyReusedError (422) when the key came with a different request.
 */
export async function handleCommand<S, C, E extends EventEnvelope, R = { version: number }>(
  store: EventStore,
  options: HandleCommandOptions<S, C, E, R>,
): Promise<CommandResult<S, E, R>> {
  const { streamId, decider, idempotency, expectedVersion } = options;
  const respond = options.respond ?? ((outcome: CommandOutcome<S, E>) => ({ version: outcome.version }) as R);

  const replay = async (): Promise<CommandResult<S, E, R> | undefined> => {
    const stored = idempotency && (await store.findIdempotentResponse(idempotency));
    return stored ? { replayed: true, response: stored.response as R, version: stored.streamVersion } : undefined;
  };

  const attempt = async (): Promise<CommandResult<S, E, R>> => {
    const repeated = await replay();
    if (repeated) return repeated;

    const loaded = await store.aggregateStream<S, E>(streamId, {
      evolve: decider.evolve,
      initialState: decider.initialState,
      stateSchemaVersion: options.stateSchemaVersion,
    });
    if (expectedVersion !== undefined && expectedVersion !== loaded.version) {
      throw new ConcurrencyError(streamId, expectedVersion, loaded.version, 'precondition');
    }
    const events = decider.decide(options.command, loaded.state);
    let after: S | undefined;
    const stateAfter = () => (after ??= events.reduce(decider.evolve, loaded.state));
    const outcomeOf = (version: number, globalPositions: number[]): CommandOutcome<S, E> => ({
      state: stateAfter(),
      events,
      version,
      globalPositions,
    });

    if (events.length === 0 && !idempotency) {
      const unchanged = outcomeOf(loaded.version, []);
      return { replayed: false, response: respond(unchanged), ...unchanged };
    }
    let stored: { value: R } | undefined;
    const result = await store.appendToStream(streamId, events.map(options.toNewEvent ?? ((e) => e)), {
      streamType: options.streamType,
      expectedVersion: loaded.version,
      metadata: options.metadata,
      outbox: options.outbox,
      snapshot:
        options.stateSchemaVersion === undefined
          ? undefined
          : { stateSchemaVersion: options.stateSchemaVersion, lastSnapshotVersion: loaded.snapshotVersion, state: stateAfter },
      idempotency: idempotency && {
        ...idempotency,
        response: (r) => (stored = { value: respond(outcomeOf(r.nextExpectedVersion, r.globalPositions)) }).value,
      },
    });
    const outcome = outcomeOf(result.nextExpectedVersion, result.globalPositions);
    // respond runs once: what the client gets now is exactly what a repeat will get.
    return { replayed: false, response: stored ? stored.value : respond(outcome), ...outcome };
  };

  // A lost race (or a duplicate key committing first) is retried on fresh state; the next
  // attempt then either decides anew or finds the duplicate's stored response.
  const isRace = (error: unknown) =>
    (error instanceof ConcurrencyError && error.kind === 'conflict') || error instanceof IdempotencyKeyInUseError;
  try {
    return await pRetry(attempt, {
      retries: expectedVersion === undefined ? (options.conflictRetries ?? 3) : 0,
      shouldRetry: ({ error }) => isRace(error),
      minTimeout: 5,
      maxTimeout: 100,
      randomize: true,
    });
  } catch (error) {
    if (isRace(error)) {
      const repeated = await replay();
      if (repeated) return repeated;
    }
    if (error instanceof ConcurrencyError && error.kind === 'conflict' && expectedVersion !== undefined) {
      throw error.asPrecondition();
    }
    throw error;
  }
}
