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
  /** 503: no database connection within the acquire timeout (overload) or the database is down. */
  EVENT_STORE_UNAVAILABLE: 'EVENT_STORE_UNAVAILABLE',
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
  constructor(
    readonly scope: string,
    readonly key: string,
  ) {
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
  constructor(
    readonly scope: string,
    readonly key: string,
  ) {
    super(
      EventStoreErrorCode.IDEMPOTENCY_KEY_IN_USE,
      'conflict',
      `a request with Idempotency-Key ${JSON.stringify(key)} is being processed; retry shortly`,
      { details: { idempotencyKey: key } },
    );
    this.name = 'IdempotencyKeyInUseError';
  }
}

// Errors that say "the database cannot take this now", not "this request is wrong": pg-pool's
// wait for a connection timing out (every connection busy, i.e. overload), refused or dropped
// connections, and PostgreSQL's own admin_shutdown, cannot_connect_now and too_many_connections.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
const UNAVAILABLE_MESSAGES = [/timeout exceeded when trying to connect/i, /connection terminated/i];

/**
 * The write database could not serve the request in time: every pooled connection stayed busy
 * for the acquire timeout, or the database is unreachable (HTTP 503 with `Retry-After`). Telling
 * this apart from a 500 lets clients and load balancers back off instead of paging anyone.
 */
export class EventStoreUnavailableError extends DomainError {
  /** Sent as HTTP headers by the problem filter. */
  readonly headers: Record<string, string>;

  constructor(cause: unknown, retryAfterSeconds = 1) {
    super(
      EventStoreErrorCode.EVENT_STORE_UNAVAILABLE,
      'unavailable',
      'the event store cannot take requests right now; retry shortly',
      {
        cause,
      },
    );
    this.name = 'EventStoreUnavailableError';
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }

  /** Whether `error` (from pg, pg-pool or TypeORM) means the database is overloaded or unreachable. */
  static matches(error: unknown): boolean {
    const e = error as { code?: unknown; message?: unknown; driverError?: unknown } | undefined;
    if (!e || typeof e !== 'object') return false;
    if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
    if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(e.message as string)))
      return true;
    return e.driverError !== undefined && e.driverError !== error && EventStoreUnavailableError.matches(e.driverError);
  }
}
