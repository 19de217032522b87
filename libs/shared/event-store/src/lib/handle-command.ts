import type { Decider, EventEnvelope } from '@cqrs/util';
import pRetry from 'p-retry';
import type { AggregateCache } from './aggregate-cache';
import { ConcurrencyError, IdempotencyKeyInUseError } from './event-store.errors';
import type { EventStore } from './postgres-event-store';
import type { AggregateResult, EventMetadata, IdempotencyOptions, OutboxOptions } from './event-store.types';

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
  /**
   * The command's input rules (throwing, e.g., VALIDATION_FAILED), checked before any database
   * call: a malformed command costs no load and no key lookup. `decide` may check them again.
   */
  validate?: (command: C) => void;
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
  /**
   * Aggregates kept between commands: a hit saves the load. Entries are hints checked by the
   * append's guard (see {@link AggregateCache}); no client ever sees a decision on stale state.
   */
  cache?: AggregateCache;
  /**
   * Whether the caller may see the loaded stream (e.g. it owns the aggregate). When not, the
   * command is decided as on a stream that does not exist (initial state, version 0), expected
   * version included: the caller gets exactly the answer an unknown id gets, and learns nothing
   * of what the stream holds. @default every stream is visible
   */
  visible?: (state: S) => boolean;
  /**
   * The caller just made the stream id up (a server-generated UUID), so the stream is assumed
   * empty and not loaded. Should it exist after all, the append's guard says so and the command
   * is decided again on the loaded stream.
   */
  newStream?: boolean;
}

/** The result of {@link handleCommand}: either freshly decided, or replayed for a repeated key. */
export type CommandResult<S, E, R> =
  | ({ replayed: false; response: R } & CommandOutcome<S, E>)
  | { replayed: true; response: R; version: number };

/**
 * The whole of a thin command handler: replay an idempotent repeat, or load the
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
  options.validate?.(options.command);
  const respond = options.respond ?? ((outcome: CommandOutcome<S, E>) => ({ version: outcome.version }) as R);

  const replay = async (): Promise<CommandResult<S, E, R> | undefined> => {
    const stored = idempotency && (await store.findIdempotentResponse(idempotency));
    return stored ? { replayed: true, response: stored.response as R, version: stored.streamVersion } : undefined;
  };

  const { cache } = options;
  const cacheKey = `${options.streamType}/${options.stateSchemaVersion ?? 0}/${streamId}`;
  const load = async (): Promise<AggregateResult<S>> => {
    const loaded = await store.aggregateStream<S, E>(streamId, {
      evolve: decider.evolve,
      initialState: decider.initialState,
      stateSchemaVersion: options.stateSchemaVersion,
    });
    cache?.set(cacheKey, loaded);
    return loaded;
  };
  // Only a first attempt trusts a hint: a retry follows a lost race, so it loads.
  const hint = (): AggregateResult<S> | undefined =>
    (cache?.get(cacheKey) as AggregateResult<S> | undefined) ??
    (options.newStream ? { state: decider.initialState(), version: 0, snapshotVersion: 0 } : undefined);
  type Decision = { events: E[]; error?: undefined } | { events?: undefined; error: unknown };
  const decideOn = (stored: AggregateResult<S>): Decision => {
    try {
      const hidden = options.visible !== undefined && !options.visible(stored.state);
      const loaded = hidden ? { state: decider.initialState(), version: 0, snapshotVersion: 0 } : stored;
      if (expectedVersion !== undefined && expectedVersion !== loaded.version) {
        throw new ConcurrencyError(streamId, expectedVersion, loaded.version, 'precondition');
      }
      const events = decider.decide(options.command, loaded.state);
      // Nothing is ever appended to a hidden stream: what an empty one would accept (a create)
      // meets an existing stream, the conflict the append's guard would report.
      if (hidden && events.length > 0) throw new ConcurrencyError(streamId, 0, stored.version, 'conflict');
      return { events };
    } catch (error) {
      return { error };
    }
  };

  const attempt = async (attemptNumber: number): Promise<CommandResult<S, E, R>> => {
    const repeated = await replay();
    if (repeated) return repeated;

    let loaded = attemptNumber === 1 ? hint() : undefined;
    let decision: Decision;
    if (loaded) {
      decision = decideOn(loaded);
      // New events are checked by the append's guard; a rejection, a no-op or a 412 decided on
      // a hint is not checked by anything, so it is decided again on the stream as stored.
      if (!decision.events?.length) {
        loaded = await load();
        decision = decideOn(loaded);
      }
    } else {
      loaded = await load();
      decision = decideOn(loaded);
    }
    if (!decision.events) throw decision.error;
    const events = decision.events;
    const from = loaded;
    let after: S | undefined;
    const stateAfter = () => (after ??= events.reduce(decider.evolve, from.state));
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
    let result;
    try {
      result = await store.appendToStream(streamId, events.map(options.toNewEvent ?? ((e) => e)), {
        streamType: options.streamType,
        expectedVersion: loaded.version,
        metadata: options.metadata,
        outbox: options.outbox,
        snapshot:
          options.stateSchemaVersion === undefined
            ? undefined
            : {
                stateSchemaVersion: options.stateSchemaVersion,
                lastSnapshotVersion: loaded.snapshotVersion,
                state: stateAfter,
              },
        idempotency: idempotency && {
          ...idempotency,
          response: (r) => (stored = { value: respond(outcomeOf(r.nextExpectedVersion, r.globalPositions)) }).value,
        },
      });
    } catch (error) {
      cache?.delete(cacheKey);
      throw error;
    }
    const outcome = outcomeOf(result.nextExpectedVersion, result.globalPositions);
    if (events.length > 0) {
      cache?.set(cacheKey, {
        state: outcome.state,
        version: result.nextExpectedVersion,
        snapshotVersion: result.snapshotWritten ? result.nextExpectedVersion : loaded.snapshotVersion,
      });
    }
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
