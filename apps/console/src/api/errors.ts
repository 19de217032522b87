/** The parts of a failed call the page shows; `@cqrs/client`'s ProblemError has them all. */
interface ProblemLike {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
}

const isProblemLike = (error: unknown): error is ProblemLike =>
  typeof error === 'object' && error !== null && typeof (error as { status?: unknown }).status === 'number';

/** A 401: the token expired or was refused, and the user must sign in again. */
export const isUnauthenticated = (error: unknown) => isProblemLike(error) && error.status === 401;

export const isForbidden = (error: unknown) => isProblemLike(error) && error.status === 403;

/** A 404: for "the current rebuild" or "the latest reconciliation", there has been none. */
export const isNotFound = (error: unknown) => isProblemLike(error) && error.status === 404;

/** A command refused because what the page showed was out of date: gone (404), another state (409), another version (412). */
export const isStale = (error: unknown) => isProblemLike(error) && [404, 409, 412].includes(error.status);

/**
 * A failure as a sentence for the live region: the problem's `title` and `detail` as the service
 * wrote them, a plain sentence when there was no answer at all.
 */
export function describeError(error: unknown): string {
  if (isProblemLike(error)) {
    if (error.status === 0) return 'The console server cannot be reached. Check your connection and try again.';
    const title = error.title?.trim() || `Request failed (${error.status})`;
    const detail = error.detail?.trim();
    return detail ? `${title}: ${detail}` : title;
  }
  return error instanceof Error && error.message ? error.message : 'Something went wrong.';
}
