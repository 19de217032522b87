import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@cqrs/util';
import type { QueryRunner } from 'typeorm';
import { ConcurrencyError, IdempotencyKeyInUseError } from '../event-store.errors';
import type { AppendOptions, AppendResult, NewEvent } from '../event-store.types';
import { SAVE_IDEMPOTENCY_KEY } from '../idempotency';
import { STREAM_VERSION } from '../load';
import { isSnapshotDue } from '../snapshot-policy';
import { isUniqueViolation, type Sql } from '../sql';
import { APPEND, appendParams, STREAM_VERSION_KEY, type AppendCall } from './append-call';
import { GroupCommit } from './group-commit';

export interface AppenderOptions {
  snapshotEvery: number;
  deleteOutboxRows: boolean;
  idempotencyTtlMs: number;
  appendsInFlight: number;
  maxAppendBatch: number;
  maxQueuedAppends: number;
}

/**
 * Appends: encodes the outbox payloads (before any lock is held), decides whether a snapshot is
 * due, and sends the append alone (one statement, or a transaction with the idempotency record) or
 * through {@link GroupCommit}.
 */
export class Appender {
  private readonly groupCommit: GroupCommit;

  constructor(
    private readonly sql: Sql,
    private readonly options: AppenderOptions,
    private readonly streamVersion: (streamId: string) => Promise<number>,
  ) {
    this.groupCommit = new GroupCommit(sql, options, streamVersion);
  }

  async append<E extends EventEnvelope>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options: AppendOptions<E>,
  ): Promise<AppendResult> {
    const { expectedVersion, idempotency } = options;
    if (!streamId) throw new TypeError('streamId must be a non-empty string');
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      throw new TypeError(`expectedVersion must be a non-negative integer, got ${expectedVersion}`);
    }
    if (events.length === 0 && !idempotency) {
      return { nextExpectedVersion: expectedVersion, globalPositions: [], eventIds: [], snapshotWritten: false };
    }
    const call = await this.callOf(streamId, events, options);
    const nextExpectedVersion = expectedVersion + events.length;
    const snapshotWritten = call.snapshotState !== null;
    const done = (globalPositions: number[]): AppendResult => ({
      nextExpectedVersion,
      globalPositions,
      eventIds: call.eventIds,
      snapshotWritten,
    });
    // The guard matched nothing: the stream is not at expectedVersion.
    const notAtExpectedVersion = async (version: () => Promise<number>) =>
      new ConcurrencyError(streamId, expectedVersion, await version());
    const positionsOf = (rows: { global_position: string }[]) => rows.map((row) => Number(row.global_position));

    if (!idempotency) {
      if (this.options.appendsInFlight > 0) return done(await this.groupCommit.append(call));
      // One statement, its own transaction.
      try {
        const rows = await this.sql.once<{ global_position: string }>(
          APPEND,
          appendParams(call, this.options.deleteOutboxRows),
        );
        if (rows.length !== events.length) throw await notAtExpectedVersion(() => this.streamVersion(streamId));
        return done(positionsOf(rows));
      } catch (error) {
        throw await asConflict(error, streamId, expectedVersion, () => this.streamVersion(streamId));
      }
    }

    // The idempotency record must commit with the events, and its response may depend on them.
    try {
      return await this.sql.transaction(async (r) => {
        let result = done([]);
        if (events.length > 0) {
          const rows = await this.sql.on<{ global_position: string }>(
            r,
            APPEND,
            appendParams(call, this.options.deleteOutboxRows),
          );
          if (rows.length !== events.length) throw await notAtExpectedVersion(() => this.versionOn(r, streamId));
          result = done(positionsOf(rows));
        }
        const stored = await this.sql.on(r, SAVE_IDEMPOTENCY_KEY, [
          idempotency.scope,
          idempotency.key,
          idempotency.requestHash,
          JSON.stringify(idempotency.response(result) ?? null),
          streamId,
          nextExpectedVersion,
          idempotency.ttlMs ?? this.options.idempotencyTtlMs,
        ]);
        if (stored.length === 0) throw new IdempotencyKeyInUseError(idempotency.scope, idempotency.key);
        return result;
      });
    } catch (error) {
      // The transaction is over (rolled back): the version is read on another connection.
      throw await asConflict(error, streamId, expectedVersion, () => this.streamVersion(streamId));
    }
  }

  /** The append function's arguments; encodes the outbox payloads (may call the schema registry). */
  private async callOf<E extends EventEnvelope>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options: AppendOptions<E>,
  ): Promise<AppendCall> {
    const { expectedVersion, outbox, snapshot } = options;
    const eventIds = events.map((event) => event.eventId ?? randomUUID());
    const schemaVersions = events.map((event) => event.schemaVersion ?? 1);
    const nextExpectedVersion = expectedVersion + events.length;
    const metadata = options.metadata ?? {};

    // Encoding may call the schema registry: do it before the transaction holds any lock.
    const aggregateId = outbox?.aggregateId ?? streamId;
    const payloads =
      outbox && events.length > 0
        ? await Promise.all(
            events.map((event, i) =>
              outbox.encode({
                event,
                eventId: eventIds[i],
                schemaVersion: schemaVersions[i],
                aggregateType: outbox.aggregateType,
                aggregateId,
                version: expectedVersion + i + 1,
                metadata,
              }),
            ),
          )
        : undefined;

    const snapshotDue =
      snapshot !== undefined &&
      events.length > 0 &&
      isSnapshotDue(nextExpectedVersion, snapshot.lastSnapshotVersion, this.options.snapshotEvery);
    return {
      streamId,
      streamType: options.streamType,
      expectedVersion,
      metadata: JSON.stringify(metadata),
      eventIds,
      types: events.map((event) => event.type),
      schemaVersions,
      data: events.map((event) => JSON.stringify(event.data)),
      payloads: payloads ?? null,
      aggregateType: outbox?.aggregateType ?? null,
      aggregateId,
      traceparent: metadata.traceparent ?? null,
      tracestate: metadata.tracestate ?? null,
      correlationId: metadata.correlationId ?? null,
      snapshotSchemaVersion: snapshotDue ? snapshot.stateSchemaVersion : null,
      snapshotState: snapshotDue ? JSON.stringify(snapshot.state()) : null,
    };
  }

  private async versionOn(runner: QueryRunner, streamId: string): Promise<number> {
    const [row] = await this.sql.on<{ version: string }>(runner, STREAM_VERSION, [streamId]);
    return Number(row.version);
  }
}

/** A lost race on `(stream_id, version)` as a {@link ConcurrencyError}; any other error as it is. */
async function asConflict(
  error: unknown,
  streamId: string,
  expectedVersion: number,
  version: () => Promise<number>,
): Promise<unknown> {
  if (!isUniqueViolation(error, STREAM_VERSION_KEY)) return error;
  const actual = await version().catch(() => undefined);
  return new ConcurrencyError(streamId, expectedVersion, actual, 'conflict', error);
}
