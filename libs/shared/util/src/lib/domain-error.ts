/**
 * The one error taxonomy. Every rule a command can break is reported as a
 * {@link DomainError} with a stable `code` clients may switch on and a `kind` that decides
 * the HTTP status, so no handler or controller maps errors by hand.
 */

/** How a rejection is classified; each kind maps to exactly one HTTP status. */
export type ErrorKind =
  | 'validation'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'precondition'
  | 'unprocessable'
  | 'rate_limited'
  | 'unavailable';

/** HTTP status per {@link ErrorKind}, as the problem+json filter answers it. */
export const HTTP_STATUS_BY_ERROR_KIND: Readonly<Record<ErrorKind, number>> = Object.freeze({
  validation: 400,
  // No credentials, or ones that do not verify (RFC 9110 §15.5.2: with a WWW-Authenticate challenge).
  unauthenticated: 401,
  // Known caller, not allowed; never for a resource whose existence is itself private (that is a 404).
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition: 412,
  unprocessable: 422,
  rate_limited: 429,
  // A dependency is down (e.g. the database): the client may retry later.
  unavailable: 503,
});

/** One invalid field, shaped like the `errors` member of a problem+json body. */
export interface FieldError {
  /** Name (or dotted path) of the offending field, e.g. `title`. */
  field: string;
  message: string;
}

/** Codes shared by every context; a context adds its own (e.g. `TASK_NOT_FOUND`). */
export const CommonErrorCode = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
} as const;

/** Options of a {@link DomainError}. */
export interface DomainErrorOptions {
  /**
   * Extra members of the problem+json body (e.g. `errors`, `expectedVersion`). Keep them
   * safe to show a client: they are serialised as they are.
   */
  details?: Record<string, unknown>;
  /** The lower-level error, kept for logs; never shown to clients. */
  cause?: unknown;
}

/**
 * A rejection a client can act on. `code` is stable (part of the API contract), `message` is
 * for humans and may change.
 *
 * @example throw new DomainError('TASK_NOT_FOUND', 'not_found', `task ${id} does not exist`)
 */
export class DomainError extends Error {
  readonly details?: Record<string, unknown>;

  constructor(
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DomainError';
    if (options.details) this.details = options.details;
  }

  /** The HTTP status this error maps to. */
  get httpStatus(): number {
    return HTTP_STATUS_BY_ERROR_KIND[this.kind];
  }

  /** A `VALIDATION_FAILED` error listing every invalid field at once. */
  static validation(errors: readonly FieldError[], message?: string): DomainError {
    return new DomainError(
      CommonErrorCode.VALIDATION_FAILED,
      'validation',
      message ?? errors.map((e) => `${e.field}: ${e.message}`).join('; '),
      { details: { errors: [...errors] } },
    );
  }
}

/** Type guard; prefer it to `instanceof` in code that may see errors from other bundles. */
export function isDomainError(error: unknown): error is DomainError {
  if (error instanceof DomainError) return true;
  // Structural fallback: the same class loaded twice (Jest module registry, two bundles).
  return (
    error instanceof Error &&
    typeof (error as Partial<DomainError>).code === 'string' &&
    typeof (error as Partial<DomainError>).kind === 'string' &&
    (error as DomainError).kind in HTTP_STATUS_BY_ERROR_KIND
  );
}
