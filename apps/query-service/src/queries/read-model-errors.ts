import { ReadModelUnavailableError } from '@cqrs/tasks-read-model';

// The class lives in the tasks read-model lib, the first context's, but nothing in it is about
// tasks: it reads pg's signals of an overloaded, slow or unreachable database. Every context's
// queries answer those as the same 503 READ_MODEL_UNAVAILABLE with Retry-After.
export { ReadModelUnavailableError };

/**
 * `error` as the query side answers it: a read database that cannot answer now becomes
 * 503 READ_MODEL_UNAVAILABLE (a repository may have done so already); anything else is kept.
 */
export function asReadModelError(error: unknown): unknown {
  return ReadModelUnavailableError.matches(error) ? new ReadModelUnavailableError(error) : error;
}
