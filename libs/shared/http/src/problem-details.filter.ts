import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { HTTP_STATUS_BY_ERROR_KIND } from '@cqrs/util';
import { allowedMethods } from './allowed-methods';

/** One invalid field of a request, as reported in a problem's `errors`. */
export interface FieldError {
  /** JSON pointer-ish path of the field, e.g. `title` or `dueDate`. */
  field: string;
  message: string;
}

/** RFC 9457 problem details with this project's stable `code` extension. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

const kindToStatus: Readonly<Record<string, number>> = HTTP_STATUS_BY_ERROR_KIND;

/** The `type` URI of a problem code; stable so clients can switch on it. */
export const problemTypeUri = (code: string) =>
  `https://cqrs-starter.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`;

interface CodedError {
  code: string;
  kind: string;
  message: string;
  details?: Record<string, unknown>;
}

// Structural so that any lib's coded error (domain, event store, serde) maps without a shared base class.
const isCodedError = (e: unknown): e is CodedError =>
  e instanceof Error &&
  typeof (e as Partial<CodedError>).code === 'string' &&
  typeof (e as Partial<CodedError>).kind === 'string' &&
  (e as unknown as CodedError).kind in kindToStatus;

/**
 * Maps every error to `application/problem+json`: coded errors by their kind,
 * Nest HTTP exceptions (including body-parser's 413 and malformed JSON) by their status, and
 * anything else to a 500 that reveals nothing internal.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<Response>();
    const request = http.getRequest<Request>();
    // Nest's catch-all for a request no route took: a path that exists under other methods is a
    // 405 naming them (RFC 9110 §15.5.6), an unknown path stays a 404.
    const allow = isRouteNotFound(exception, request) ? allowedMethods(request) : [];
    if (allow.length > 0) response.setHeader('Allow', allow.join(', '));
    const problem = allow.length > 0 ? methodNotAllowed(request, allow) : problemOf(exception);
    // Only the unexpected is an error worth a stack trace; a 503 (dependency down) is reported by health.
    if (problem.status === 500) this.logger.error({ err: exception, code: problem.code }, problem.detail);
    const headers = (exception as { headers?: Record<string, string> }).headers;
    if (headers) for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    response
      .status(problem.status)
      .type('application/problem+json')
      .send(JSON.stringify({ ...problem, instance: request.url }));
  }
}

const isRouteNotFound = (exception: unknown, request: Request) =>
  exception instanceof NotFoundException && exception.message === `Cannot ${request.method} ${request.url}`;

const methodNotAllowed = (request: Request, allow: string[]): ProblemDetails => ({
  type: problemTypeUri('METHOD_NOT_ALLOWED'),
  title: titleOf(HttpStatus.METHOD_NOT_ALLOWED),
  status: HttpStatus.METHOD_NOT_ALLOWED,
  detail: `${request.method} is not allowed here; allowed: ${allow.join(', ')}`,
  code: 'METHOD_NOT_ALLOWED',
});

/**
 * The problem an error becomes (status, stable code, detail): what the filter sends, and what
 * metrics and logs report as the outcome of a failed request.
 */
export function problemOf(exception: unknown): ProblemDetails {
  if (isCodedError(exception)) {
    const status = kindToStatus[exception.kind] ?? HttpStatus.INTERNAL_SERVER_ERROR;
    return {
      type: problemTypeUri(exception.code),
      title: titleOf(status),
      status,
      detail: exception.message,
      code: exception.code,
      ...(exception.details ?? {}),
    };
  }
  // The router could not percent-decode a path parameter (%ED%A0%80, a lone surrogate, is not
  // UTF-8); Nest passes its URIError on as this 400, which does not say which parameter.
  if (exception instanceof BadRequestException && exception.message.startsWith('Failed to decode param ')) {
    return {
      type: problemTypeUri('VALIDATION_FAILED'),
      title: titleOf(400),
      status: 400,
      detail: 'The request is invalid; see errors.',
      code: 'VALIDATION_FAILED',
      errors: [{ field: 'path', message: 'must be valid percent-encoded UTF-8' }],
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const body = exception.getResponse();
    const fromBody = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const code = typeof fromBody['code'] === 'string' ? fromBody['code'] : codeOfStatus(status, exception);
    const detail =
      typeof fromBody['detail'] === 'string'
        ? fromBody['detail']
        : typeof fromBody['message'] === 'string'
          ? fromBody['message']
          : exception.message;
    return {
      type: problemTypeUri(code),
      title: titleOf(status),
      status,
      detail,
      code,
      ...(Array.isArray(fromBody['errors']) ? { errors: fromBody['errors'] as FieldError[] } : {}),
      // terminus' 503 body: keep each dependency's state so operators see which one is down
      ...(fromBody['status'] === 'error' && typeof fromBody['details'] === 'object'
        ? { checks: fromBody['details'] }
        : {}),
    };
  }
  // body-parser errors arrive as plain errors carrying a status (e.g. entity.too.large).
  const parserStatus = (exception as { status?: number; type?: string })?.status;
  if (typeof parserStatus === 'number' && parserStatus >= 400 && parserStatus < 500) {
    const type = (exception as { type?: string }).type;
    const code =
      type === 'entity.too.large'
        ? 'PAYLOAD_TOO_LARGE'
        : type === 'entity.parse.failed'
          ? 'MALFORMED_JSON'
          : codeOfStatus(parserStatus);
    return {
      type: problemTypeUri(code),
      title: titleOf(parserStatus),
      status: parserStatus,
      detail: (exception as Error).message,
      code,
    };
  }
  return {
    type: problemTypeUri('INTERNAL'),
    title: titleOf(500),
    status: 500,
    detail: 'An unexpected error occurred; it has been logged.',
    code: 'INTERNAL',
  };
}

function codeOfStatus(status: number, exception?: HttpException): string {
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 400 && exception?.message.includes('JSON')) return 'MALFORMED_JSON';
  if (status === 404) return 'ROUTE_NOT_FOUND';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  return (HttpStatus[status] ?? 'HTTP_ERROR').toString();
}

function titleOf(status: number): string {
  const name = HttpStatus[status];
  if (!name) return 'Error';
  return name
    .toLowerCase()
    .split('_')
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join(' ');
}
