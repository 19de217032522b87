import { DomainError } from '@cqrs/util';

/** What the HTTP edge knows about a command beyond its payload. */
export interface CommandContext {
  /** The route template, e.g. `POST /tasks/:id/start`; scopes idempotency keys. */
  route: string;
  /** Client's `Idempotency-Key`, if it sent one. */
  idempotencyKey?: string;
  /** Hash of the HTTP request (route, params, body): a repeated key must come with the same one. */
  requestHash: string;
  /** The server made the stream id up just now (a create): there is nothing to load. */
  newStream?: boolean;
  /** Stream version from `If-Match`, if the client pinned one (412 when stale). */
  expectedVersion?: number;
  correlationId: string;
  causationId?: string;
  traceparent?: string;
  tracestate?: string;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
// RFC 9110 entity tags: "3", W/"3"; we issue strong tags holding the stream version.
const ETAG = /^(?:W\/)?"(\d{1,15})"$/;

/** Validates the optional `Idempotency-Key` header. */
export function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(value)) {
    throw DomainError.validation([{ field: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' }]);
  }
  return value;
}

/** Reads the expected stream version from `If-Match` (`"3"` as sent back in our ETags). */
export function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = ETAG.exec(value.trim());
  if (!match?.[1]) {
    throw DomainError.validation([{ field: 'If-Match', message: 'must be an entity tag from a previous response, e.g. "3"' }]);
  }
  return Number(match[1]);
}

/** The ETag for a stream version. */
export const etagOf = (version: number) => `"${version}"`;
