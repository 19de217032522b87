import { isAbortError, isProblemError } from './problem-error';

/** How calls are retried. */
export interface RetryOptions {
  /** Attempts in all, the first one included; 1 turns retries off. @default 4 */
  maxAttempts?: number;
  /** The first retry's backoff ceiling; it doubles with each retry. @default 250 */
  baseDelayMs?: number;
  /**
   * The backoff's cap, and the longest `Retry-After` honoured: a service asking for a longer
   * wait gets its error surfaced instead of a caller hanging. @default 30000
   */
  maxDelayMs?: number;
}

export const DEFAULT_RETRY: Readonly<Required<RetryOptions>> = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 30_000 };

/**
 * Statuses worth another attempt: no answer (0), 408, 429 and the gateway and availability
 * errors (502, 503 with `READ_MODEL_BEHIND` or `EVENT_STORE_UNAVAILABLE`, 504). Never any other
 * 4xx (the request itself is wrong, or forbidden, or conflicts) nor 500 (a defect, not a load).
 */
const RETRIABLE_STATUSES = new Set([0, 408, 429, 502, 503, 504]);

/** Whether `error` is a transient failure another attempt may get past. */
export function isRetriable(error: unknown): boolean {
  if (isAbortError(error)) return false;
  return isProblemError(error) && RETRIABLE_STATUSES.has(error.status);
}

/**
 * TanStack Query's `retry`: `failureCount` is the number of retries already made (0 after the
 * first failure). Retries a transient failure while attempts remain and the service's
 * `Retry-After`, if any, is within `maxDelayMs`.
 */
export function shouldRetry(failureCount: number, error: unknown, options: RetryOptions = {}): boolean {
  const { maxAttempts, maxDelayMs } = { ...DEFAULT_RETRY, ...options };
  if (failureCount + 1 >= maxAttempts || !isRetriable(error)) return false;
  const retryAfter = isProblemError(error) ? error.retryAfter : undefined;
  return retryAfter === undefined || retryAfter * 1000 <= maxDelayMs;
}

/**
 * TanStack Query's `retryDelay`: the service's `Retry-After` when it sent one (plus up to
 * `baseDelayMs` of jitter, so that callers told the same thing do not come back together), else
 * exponential backoff with full jitter: uniform in [0, min(maxDelayMs, baseDelayMs·2^failureCount)).
 */
export function retryDelay(
  failureCount: number,
  error: unknown,
  options: RetryOptions = {},
  random: () => number = Math.random,
): number {
  const { baseDelayMs, maxDelayMs } = { ...DEFAULT_RETRY, ...options };
  const retryAfter = isProblemError(error) ? error.retryAfter : undefined;
  if (retryAfter !== undefined) return Math.min(maxDelayMs, retryAfter * 1000) + Math.floor(random() * baseDelayMs);
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** failureCount);
  return Math.floor(random() * ceiling);
}

/** `retry` and `retryDelay` for TanStack Query options, with `options` bound. */
export function retryPolicy(options: RetryOptions = {}): {
  retry: (failureCount: number, error: unknown) => boolean;
  retryDelay: (failureCount: number, error: unknown) => number;
} {
  return {
    retry: (failureCount, error) => shouldRetry(failureCount, error, options),
    retryDelay: (failureCount, error) => retryDelay(failureCount, error, options),
  };
}

/**
 * Runs `attempt` until it succeeds, fails for good, or runs out of attempts, waiting as
 * {@link retryDelay} says in between. For commands, which TanStack runs once (`retry: false`):
 * every attempt must carry the same `Idempotency-Key`, which only the mutation function knows.
 */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  options: RetryOptions = {},
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<T> {
  for (let failureCount = 0; ; failureCount++) {
    try {
      return await attempt();
    } catch (error) {
      if (!shouldRetry(failureCount, error, options)) throw error;
      await sleep(retryDelay(failureCount, error, options));
    }
  }
}
