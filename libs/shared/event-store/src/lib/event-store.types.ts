import type { EventEnvelope } from '@cqrs/util';

/**
 * Context recorded with every event of one append, and copied to the outbox row (traceparent,
 * tracestate, correlation id become Kafka headers). Extra keys are stored as they are.
 */
export interface EventMetadata {
  /** Id shared by everything one user action caused, across services. */
  correlationId?: string;
  /** Id of the message (command or event) that caused this one. */
  causationId?: string;
  /** W3C trace context of the command, so the trace continues through the outbox. */
  traceparent?: string;
  tracestate?: string;
  [key: string]: unknown;
}

/** An event to append: the domain event plus optional store-level attributes. */
export type NewEvent<E extends EventEnvelope = EventEnvelope> = E & {
  /** @default a random UUID */
  eventId?: string;
  /** Version of the event type's schema (the Avro `.v<N>`). @default 1 */
  schemaVersion?: number;
};

/** An event as stored: the domain event plus its position in the stream and in the store. */
export type RecordedEvent<E extends EventEnvelope = EventEnvelope> = E & {
  /** Ascending across the store, but not gap-free nor commit-ordered: never a read checkpoint. */
  globalPosition: number;
  eventId: string;
  streamId: string;
  streamType: string;
  /** 1 for the first event of a stream; there are no gaps. */
  version: number;
  schemaVersion: number;
  metadata: EventMetadata;
  recordedAt: Date;
};

/** What the outbox encoder gets for each event, enough to pick topic, subject and schema. */
export interface OutboxEncodeInput<E extends EventEnvelope = EventEnvelope> {
  event: E;
  eventId: string;
  schemaVersion: number;
  aggregateType: string;
  aggregateId: string;
  /** The event's version in its stream (the `aggregateversion` column). */
  version: number;
  /** The append's metadata (correlation and causation ids belong in the event envelope). */
  metadata: EventMetadata;
}

/** Writes one outbox row per appended event, in the append's transaction. */
export interface OutboxOptions<E extends EventEnvelope = EventEnvelope> {
  /** `aggregatetype` column; the topic is `${aggregateType}.events`, e.g. `tasks.task`. */
  aggregateType: string;
  /** `aggregateid` column, the Kafka key. @default the stream id */
  aggregateId?: string;
  /**
   * Encodes an event to the `payload` bytes (Avro in Confluent wire format). Called before the
   * transaction opens, so registry round trips never hold database locks.
   */
  encode(input: OutboxEncodeInput<E>): Promise<Buffer> | Buffer;
}

/** Lets an append write a snapshot when enough events have accumulated since the last one. */
export interface SnapshotOptions<S = unknown> {
  /** The state's schema version (e.g. the domain's `STATE_SCHEMA_VERSION`). */
  stateSchemaVersion: number;
  /** Version of the snapshot the current state was loaded from; 0 if none. */
  lastSnapshotVersion: number;
  /** The state after the appended events; only called when a snapshot is due. Must be JSON. */
  state(): S;
}

/** Records an idempotency key with the response, in the append's transaction. */
export interface IdempotencyOptions {
  /** Namespace of the key, e.g. `POST /tasks` plus the caller's id: keys are unique per scope. */
  scope: string;
  /** The client's `Idempotency-Key`. */
  key: string;
  /** Hash of the request (see `hashRequest`); a repeat with another hash is rejected (422). */
  requestHash: string;
  /** How long the key is remembered. @default the store's `idempotencyTtlMs` (24 h) */
  ttlMs?: number;
}

export interface AppendOptions<E extends EventEnvelope = EventEnvelope> {
  /** Kind of aggregate, stored per event (e.g. `tasks.task`). */
  streamType: string;
  /** The stream's version the events were decided on; 0 for a stream that must not exist yet. */
  expectedVersion: number;
  metadata?: EventMetadata;
  outbox?: OutboxOptions<E>;
  snapshot?: SnapshotOptions;
  idempotency?: IdempotencyOptions & {
    /** The response to replay for a repeat of this request; must be JSON. */
    response(result: AppendResult): unknown;
  };
}

export interface AppendResult {
  /** The stream's version after the append: pass it as `expectedVersion` to append again. */
  nextExpectedVersion: number;
  /** Global position of each appended event, in order. */
  globalPositions: number[];
  eventIds: string[];
  /** Whether this append also wrote a snapshot. */
  snapshotWritten: boolean;
}

/** A folded stream. */
export interface AggregateResult<S> {
  state: S;
  /** The stream's version (0 when it has no events). */
  version: number;
  /** Version of the snapshot the state started from; 0 when it was replayed from the start. */
  snapshotVersion: number;
}

export interface AggregateOptions<S, E extends EventEnvelope> {
  /** Gets the domain event only (`type`, `data`): a fold needs no store positions. */
  evolve(state: S, event: E): S;
  initialState(): S;
  /** Enables snapshots: only one written with this state schema version is used. */
  stateSchemaVersion?: number;
}

/** A response remembered for an idempotency key. */
export interface StoredResponse<R = unknown> {
  response: R;
  streamId: string;
  /** The stream's version right after the original request. */
  streamVersion: number;
}
