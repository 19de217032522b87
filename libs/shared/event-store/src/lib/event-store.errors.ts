import { DomainError } from '@cqrs/util';

/** Stable error codes of the event store (problem+json `code`). */
export const EventStoreErrorCode = {
  /** 409: another writer appended to the stream first; reload and decide again. */
  CONCURRENCY_CONFLICT: 'CONCURRENCY_CONFLICT',
  /** 412: the version the client sent in If-Match is no longer the stream's version. */
  VERSION_MISMATCH: 'VERSION_MISMATCH',
  /** 422: an Idempotency-Key was reused for a different request. */
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  /** 409: a request with this Idempotency-Key is still being processed. */
  IDEMPOTENCY_KEY_IN_USE: 'IDEMPOTENCY_KEY_IN_USE',
} as const;

/**
 * An append was decided on a version that is no longer the stream's. As a `conflict` (409) it
 * means a race was lost; {@link ConcurrencyError.asPrecondition} turns it into the 412 a client
 * gets when the version it pinned with If-Match is stale.
 */
export class ConcurrencyError extends DomainError {
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    /** The stream's version when the conflict was detected, if it could be read. */
    readonly actualVersion: number | undefined,
    kind: 'conflict' | 'precondition' = 'conflict',
    cause?: unknown,
  ) {
    const actual = actualVersion === undefined ? 'unknown' : String(actualVersion);
    super(
      kind === 'conflict' ? EventStoreErrorCode.CONCURRENCY_CONFLICT : EventStoreErrorCode.VERSION_MISMATCH,
      kind,
      kind === 'conflict'
        ? `stream ${streamId} changed concurrently: expected version ${expectedVersion}, found ${actual}`
        : `stream ${streamId} is at version ${actual}, not the expected ${expectedVersion}`,
      { details: { expectedVersion, actualVersion: actualVersion ?? null }, cause },
    );
    this.name = 'ConcurrencyError';
  }

  /** The same conflict as a failed precondition (HTTP 412), for a client that sent If-Match. */
  asPrecondition(): ConcurrencyError {
    return new ConcurrencyError(this.streamId, this.expectedVersion, this.actualVersion, 'precondition', this);
  }
}

/** The same Idempotency-Key came with a different request body (HTTP 422). */
export class IdempotencyKeyReusedError extends DomainError {
  constructor(readonly scope: string, readonly key: string) {
    super(
      EventStoreErrorCode.IDEMPOTENCY_KEY_REUSED,
      'unprocessable',
      `Idempotency-Key ${JSON.stringify(key)} was already used for a different request`,
      { details: { idempotencyKey: key } },
    );
    this.name = 'IdempotencyKeyReusedError';
  }
}

/** Another request with the same Idempotency-Key committed first, or is still in flight (HTTP 409). */
export class IdempotencyKeyInUseError extends DomainError {
  constructor(readonly scope: string, readonly key: string) {
    super(
      EventStoreErrorCode.IDEMPOTENCY_KEY_IN_USE,
      'conflict',
      `a request with Idempotency-Key ${JSON.stringify(key)} is being processed; retry shortly`,
      { details: { idempotencyKey: key } },
    );
    this.name = 'IdempotencyKeyInUseError';
  }
}
