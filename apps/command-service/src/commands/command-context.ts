import { DomainError, identifierProblem } from '@cqrs/util';
import { parseTraceParent, TraceState } from '@opentelemetry/core';

/** What the HTTP edge knows about a command beyond its payload. */
export interface CommandContext {
  /** The route template, e.g. `POST /tasks/:id/start`; with the subject, scopes idempotency keys. */
  route: string;
  /** The authenticated caller: one caller's Idempotency-Key never replays another's response. */
  subject: string;
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

/** Longest `Idempotency-Key`, `X-Correlation-Id` and `X-Causation-Id`, in characters. */
export const HEADER_ID_MAX_LENGTH = 255;
// Header values are bytes that Node reads as Latin-1: outside visible ASCII, what a client meant
// (UTF-8, say) is not what would be stored, so ids in headers keep to it (no spaces either).
const VISIBLE_ASCII = /^[\x21-\x7e]*$/;
// RFC 9110 entity tags: "3", W/"3"; we issue strong tags holding the stream version.
const ETAG = /^(?:W\/)?"(\d{1,15})"$/;

/**
 * An id a client sends in a header (idempotency key, correlation or causation id): the shared
 * identifier rule of `@cqrs/util` (at most {@link HEADER_ID_MAX_LENGTH}), in visible ASCII.
 * Throws VALIDATION_FAILED naming the header.
 */
function headerId(header: string, value: string): string {
  const problem =
    identifierProblem(value, HEADER_ID_MAX_LENGTH) ??
    (VISIBLE_ASCII.test(value) ? null : 'must be visible ASCII characters (no spaces)');
  if (problem) throw DomainError.validation([{ field: header, message: problem }]);
  return value;
}

/** Validates the optional `Idempotency-Key` header. */
export function parseIdempotencyKey(value: string | undefined): string | undefined {
  return value === undefined ? undefined : headerId('Idempotency-Key', value);
}

/**
 * Validates an optional `X-Correlation-Id` or `X-Causation-Id`; an empty one counts as absent
 * (some proxies send empty headers).
 */
export function parseOptionalId(
  header: 'X-Correlation-Id' | 'X-Causation-Id',
  value: string | undefined,
): string | undefined {
  return value === undefined || value === '' ? undefined : headerId(header, value);
}

/**
 * The W3C trace context a request carries, normalised, or nothing. As Trace Context requires, a
 * malformed `traceparent` is ignored, and `tracestate` with it (the command starts a new trace);
 * a `tracestate` keeps only its well-formed members, at most 32 and 512 characters. A
 * `traceparent` of a later version is read as version 00 and passed on as one.
 */
export function parseTraceContext(
  traceparent: string | undefined,
  tracestate: string | undefined,
): { traceparent?: string; tracestate?: string } {
  const parent = traceparent === undefined ? null : parseTraceParent(traceparent);
  if (!parent) return {};
  const flags = (parent.traceFlags & 0xff).toString(16).padStart(2, '0');
  const state = tracestate ? new TraceState(tracestate).serialize() : '';
  return { traceparent: `00-${parent.traceId}-${parent.spanId}-${flags}`, ...(state ? { tracestate: state } : {}) };
}

/** Reads the expected stream version from `If-Match` (`"3"` as sent back in our ETags). */
export function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = ETAG.exec(value.trim());
  if (!match?.[1]) {
    throw DomainError.validation([
      { field: 'If-Match', message: 'must be an entity tag from a previous response, e.g. "3"' },
    ]);
  }
  return Number(match[1]);
}

/** The ETag for a stream version. */
export const etagOf = (version: number) => `"${version}"`;
