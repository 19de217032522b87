/** An RFC 9457 problem as the services answer it (`application/problem+json`), with its stable `code`. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  /** Stable and machine-readable, e.g. `TASK_NOT_FOUND`, `VERSION_MISMATCH`, `READ_MODEL_BEHIND`. */
  code: string;
  instance?: string;
  errors?: { field?: string; message?: string }[];
  /** Anything else the problem carries (e.g. `behind` on `READ_MODEL_BEHIND`). */
  [member: string]: unknown;
}

/** The `code` of a request that got no HTTP answer (connection refused, reset, DNS, CORS). */
export const NETWORK_ERROR = 'NETWORK_ERROR';

/**
 * Every failure of a call, as one type: an error answer of a service (its problem+json), any
 * other non-2xx answer (a proxy's 502, say: code `HTTP_<status>`), or no answer at all (status 0,
 * code {@link NETWORK_ERROR}). An aborted request is not one: it rejects with the fetch's own
 * `AbortError`, which TanStack Query treats as a cancellation.
 */
export class ProblemError extends Error {
  override readonly name: string = 'ProblemError';
  /** The HTTP status; 0 when there was no answer. */
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string | undefined;
  /** Seconds the service asked to wait before retrying (`Retry-After`, on 429 and 503). */
  readonly retryAfter: number | undefined;
  /** The whole problem document. */
  readonly problem: Problem;

  constructor(problem: Problem, options: { retryAfter?: number; cause?: unknown } = {}) {
    super(problem.detail ? `${problem.code}: ${problem.detail}` : `${problem.code}: ${problem.title}`, {
      cause: options.cause,
    });
    this.problem = problem;
    this.status = problem.status;
    this.code = problem.code;
    this.title = problem.title;
    this.detail = problem.detail;
    this.retryAfter = options.retryAfter;
  }
}

/**
 * A command lost to a concurrent change: 412 `VERSION_MISMATCH` (the `If-Match` version is no
 * longer the current one) or 409 (`CONCURRENCY_CONFLICT`, `INVALID_TRANSITION`, `PROJECT_ARCHIVED`,
 * …: the aggregate's state forbids it now). Read again, then decide.
 */
export class ConflictError extends ProblemError {
  override readonly name: string = 'ConflictError';
}

/** True for a {@link ProblemError}, also one from another copy of this package. */
export function isProblemError(error: unknown): error is ProblemError {
  return (
    error instanceof ProblemError ||
    (error instanceof Error &&
      typeof (error as Partial<ProblemError>).status === 'number' &&
      typeof (error as Partial<ProblemError>).code === 'string' &&
      typeof (error as Partial<ProblemError>).problem === 'object')
  );
}

/** True for a stale `If-Match` (412) or a state conflict (409). */
export function isConflictError(error: unknown): error is ConflictError {
  return isProblemError(error) && (error.status === 409 || error.status === 412);
}

/**
 * `Retry-After` in seconds (RFC 9110 §10.2.3: delay-seconds or an HTTP date), or undefined when
 * absent or unreadable. A date in the past is 0.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // An HTTP date ends in GMT (IMF-fixdate and the obsolete forms); Date.parse alone takes "-1" for a year.
  const date = /GMT$/.test(trimmed) ? Date.parse(trimmed) : NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The error of a non-2xx answer: its problem+json when it is one, else a problem made of the
 * status (`HTTP_<status>`), so that callers always get a code.
 */
export function problemFromResponse(
  response: Pick<Response, 'status' | 'statusText' | 'headers'>,
  body: unknown,
): ProblemError {
  const problem: Problem =
    isRecord(body) && typeof body['code'] === 'string'
      ? {
          ...body,
          code: body['code'],
          status: typeof body['status'] === 'number' ? body['status'] : response.status,
          title: typeof body['title'] === 'string' ? body['title'] : response.statusText,
          detail: typeof body['detail'] === 'string' ? body['detail'] : undefined,
        }
      : {
          code: `HTTP_${response.status}`,
          status: response.status,
          title: response.statusText || `HTTP ${response.status}`,
          detail: typeof body === 'string' && body.length > 0 ? body.slice(0, 500) : undefined,
        };
  const options = { retryAfter: parseRetryAfter(response.headers.get('retry-after')) };
  return response.status === 409 || response.status === 412
    ? new ConflictError(problem, options)
    : new ProblemError(problem, options);
}

/** The error of a request that got no answer (the fetch rejected). */
export function networkProblem(cause: unknown): ProblemError {
  return new ProblemError(
    {
      code: NETWORK_ERROR,
      status: 0,
      title: 'No answer',
      detail: cause instanceof Error ? cause.message : String(cause),
    },
    { cause },
  );
}

/** True for the rejection of an aborted fetch (`AbortError`, or the signal's reason). */
export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    ((error as { name?: unknown }).name === 'AbortError' || (error as { name?: unknown }).name === 'TimeoutError')
  );
}
