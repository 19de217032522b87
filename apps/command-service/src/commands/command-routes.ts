import { hashRequest } from '@cqrs/event-store';
import { ApiProblemResponse as problem, ApiUuidParam, type Principal } from '@cqrs/http';
import { applyDecorators } from '@nestjs/common';
import type { CommandBus, ICommand } from '@nestjs/cqrs';
import { ApiHeader, ApiProperty } from '@nestjs/swagger';
import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import {
  type CommandContext,
  etagOf,
  HEADER_ID_MAX_LENGTH,
  parseIdempotencyKey,
  parseIfMatch,
  parseOptionalId,
  parseTraceContext,
} from './command-context';

/** The request headers as `@Headers()` hands them over (names lower-cased). */
export type RequestHeaders = Record<string, string | undefined>;

// The rule of parseIdempotencyKey/parseOptionalId as a schema: up to 255 visible ASCII characters
// (an empty correlation or causation id counts as absent).
const headerId = { type: 'string', minLength: 1, maxLength: HEADER_ID_MAX_LENGTH, pattern: '^[!-~]+$' } as const;
const optionalHeaderId = { ...headerId, minLength: 0, pattern: '^[!-~]*$' } as const;
// parseIfMatch's rule, `(W/)?"<1-15 digits>"`. The quote is matched by a look-ahead and a
// back-reference, which mean the same as a literal `"`: schemathesis 4.32 gives up on a header
// pattern it can prove needs a non-alphanumeric character and then sends an invalid value in its
// "valid" cases (If-Match: 0); written this way, it sends the example instead.
const IF_MATCH_PATTERN = '^(?:W/)?(?=(["]))\\1[0-9]{1,15}\\1$';

const commandHeaders = (noun: string) => [
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    schema: headerId,
    description:
      'Repeat-safe retries: the same key and body return the first response; another body is 422. 1-255 visible ASCII characters, else 400.',
  }),
  ApiHeader({
    name: 'If-Match',
    required: false,
    schema: { type: 'string', pattern: IF_MATCH_PATTERN },
    example: '"3"',
    description: `ETag of the version the client saw (e.g. "3"); 412 if the ${noun} changed since, 400 if it is not such a tag.`,
  }),
  ApiHeader({
    name: 'X-Correlation-Id',
    required: false,
    schema: optionalHeaderId,
    description:
      'Carried with the events and echoed back; a new UUID when absent or empty. 1-255 visible ASCII characters, else 400.',
  }),
  ApiHeader({
    name: 'X-Causation-Id',
    required: false,
    schema: optionalHeaderId,
    description: 'What caused this command, stored with its events. 1-255 visible ASCII characters, else 400.',
  }),
  ApiHeader({
    name: 'traceparent',
    required: false,
    schema: { type: 'string' },
    description: 'W3C Trace Context; a malformed one is ignored (a new trace starts), never an error.',
  }),
  ApiHeader({
    name: 'tracestate',
    required: false,
    schema: { type: 'string' },
    description: 'W3C Trace Context; only well-formed members are kept, and only with a valid traceparent.',
  }),
];

/** How a context's command routes are worded in the OpenAPI document. */
export interface CommandRouteDocsOptions {
  /** The aggregate in the documents' sentences, e.g. `task`. */
  noun: string;
  /** The 404 of a route on an existing aggregate, e.g. `No such task, or it was deleted (TASK_NOT_FOUND)`. */
  notFound: string;
  /** The 409 of a route on an existing aggregate (its status forbids the command, or a lost race). */
  conflict: string;
}

/** The OpenAPI declarations every command route of a context repeats. */
export interface CommandRouteDocs {
  /** The command headers and the answers any command may give: 400, 413, 422, 503 with Retry-After. */
  common: MethodDecorator;
  /** {@link common}, plus a route on an existing aggregate's `:id`: the UUID parameter, 404, 409, 412. */
  existing: MethodDecorator;
  /**
   * {@link common}, plus the 412 of a create. RFC 9110 §13.1.1: If-Match is false when there is
   * no current representation, and an aggregate being created has none, so an If-Match naming a
   * version fails the precondition like a stale one.
   */
  create: MethodDecorator;
}

/** The OpenAPI declarations of a context's command routes; see {@link CommandRouteDocs}. */
export function commandRouteDocs({ noun, notFound, conflict }: CommandRouteDocsOptions): CommandRouteDocs {
  const common = applyDecorators(
    ...commandHeaders(noun),
    problem(400, 'Invalid request (VALIDATION_FAILED with per-field or per-header errors, MALFORMED_JSON)'),
    problem(413, 'Body over the size limit (PAYLOAD_TOO_LARGE)'),
    problem(422, 'Idempotency-Key reused with another request (IDEMPOTENCY_KEY_REUSED)'),
    problem(503, 'Overloaded or the write database is unreachable (EVENT_STORE_UNAVAILABLE); retry after Retry-After', {
      'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
    }),
  );
  // Stacked decorators apply bottom-up, applyDecorators top-down: `common` last keeps the
  // document as `@common @existing` stacked on a method would write it.
  const existing = applyDecorators(
    ApiUuidParam('id', `The ${noun} id (a UUID, else 400).`),
    problem(404, notFound),
    problem(409, conflict),
    problem(412, 'If-Match is stale (VERSION_MISMATCH)'),
    common,
  );
  const create = applyDecorators(
    problem(412, `If-Match sent on a create: the new ${noun} has no version to match (VERSION_MISMATCH)`),
    common,
  );
  return { common, existing, create };
}

/**
 * The response body class of a context's commands, `{ <idField>, version }`, for the document.
 * @param name the schema's name in the document, e.g. `TaskCommandResponseDto`
 */
export function commandResponseDto(name: string, idField: string): new () => object {
  const dto = { [name]: class {} }[name] as new () => object;
  ApiProperty({ type: String, format: 'uuid' })(dto.prototype, idField);
  ApiProperty({
    type: Number,
    description: 'Stream version after the command; send it as If-Match, or as X-Min-Version to the query side.',
  })(dto.prototype, 'version');
  return dto;
}

/** The command metadata the edge adds: time and the caller enter the domain here, so deciding stays pure. */
export function commandMetadata(caller: Principal): { now: string; actor: string } {
  return { now: new Date().toISOString(), actor: caller.subject };
}

/** What an HTTP request contributes to a command's {@link CommandContext}. */
export interface CommandRequest {
  /** The route template, e.g. `POST /tasks/:id/start`; with the caller, it scopes idempotency keys. */
  route: string;
  caller: Principal;
  headers: RequestHeaders;
  /** The route's path parameters, e.g. `{ id }`. */
  params?: Record<string, string>;
  /** The validated body; none for a route without one. */
  body?: object;
  /** The server made the stream id up (a create): nothing to load. */
  newStream?: boolean;
}

/**
 * The {@link CommandContext} of a request, its headers validated (400 VALIDATION_FAILED naming the
 * first bad one). A correlation id is made up when the client sent none.
 */
export function commandContextOf({
  route,
  caller,
  headers,
  params = {},
  body = {},
  newStream = false,
}: CommandRequest): CommandContext {
  const correlationId = parseOptionalId('X-Correlation-Id', headers['x-correlation-id']) ?? randomUUID();
  return {
    route,
    subject: caller.subject,
    idempotencyKey: parseIdempotencyKey(headers['idempotency-key']),
    // the HTTP request, not the command: a retried create must match although its id is new
    requestHash: hashRequest({ route, params, body }),
    expectedVersion: parseIfMatch(headers['if-match']),
    newStream,
    correlationId,
    causationId: parseOptionalId('X-Causation-Id', headers['x-causation-id']),
    ...parseTraceContext(headers['traceparent'], headers['tracestate']),
  };
}

/**
 * Writes what every command answer carries besides its body: the version as ETag, the
 * correlation id, and `Idempotent-Replayed` on a replay. Returns the body.
 */
export function writeCommandResponse<R extends { version: number }>(
  res: Response,
  context: CommandContext,
  { response, replayed }: { response: R; replayed: boolean },
): R {
  res.setHeader('ETag', etagOf(response.version));
  res.setHeader('X-Correlation-Id', context.correlationId);
  if (replayed) res.setHeader('Idempotent-Replayed', 'true');
  return response;
}

/** A command for {@link dispatchCommand}: the domain command, its bus message class, and the request. */
export interface CommandDispatch<C, R> extends CommandRequest {
  /** The message class its handler is bound to (`@CommandHandler(...)`). */
  message: new (command: C, context: CommandContext) => ICommand;
  command: C;
  /** The `Location` of what a create made, from its response, e.g. `/tasks/<id>`. */
  location?: (response: R) => string;
}

/**
 * The whole of a command route: the request's {@link CommandContext}, the command on the bus,
 * and the answer's headers ({@link writeCommandResponse}, plus `Location` for a create).
 * The status is the route's own (`@HttpCode`).
 */
export async function dispatchCommand<C, R extends { version: number }>(
  bus: CommandBus,
  res: Response,
  dispatch: CommandDispatch<C, R>,
): Promise<R> {
  const context = commandContextOf(dispatch);
  const result = await bus.execute<ICommand, { response: R; replayed: boolean }>(
    new dispatch.message(dispatch.command, context),
  );
  const response = writeCommandResponse(res, context, result);
  if (dispatch.location) res.setHeader('Location', dispatch.location(response));
  return response;
}
