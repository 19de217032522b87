import { ConflictError, networkProblem, ProblemError } from './problem-error';
import { DEFAULT_RETRY, isRetriable, retryDelay, shouldRetry, withRetries } from './retry';

const problem = (status: number, code = `HTTP_${status}`, retryAfter?: number) =>
  new ProblemError({ status, code, title: 'x' }, { retryAfter });

describe('retry decisions', () => {
  it.each([
    [0, true],
    [408, true],
    [429, true],
    [502, true],
    [503, true],
    [504, true],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [413, false],
    [422, false],
    [431, false],
    [500, false],
  ])('status %i retriable: %s', (status, expected) => {
    expect(isRetriable(problem(status))).toBe(expected);
  });

  it('never retries a conflict, an abort, or an error that is not a problem', () => {
    expect(isRetriable(new ConflictError({ status: 412, code: 'VERSION_MISMATCH', title: 'x' }))).toBe(false);
    expect(isRetriable(new DOMException('aborted', 'AbortError'))).toBe(false);
    expect(isRetriable(new TypeError('x is not a function'))).toBe(false);
    expect(isRetriable(networkProblem(new TypeError('fetch failed')))).toBe(true);
  });

  it('retries READ_MODEL_BEHIND, and stops after maxAttempts attempts in all', () => {
    const behind = problem(503, 'READ_MODEL_BEHIND', 1);
    expect([0, 1, 2, 3].map((n) => shouldRetry(n, behind))).toEqual([true, true, true, false]);
    expect([0, 1].map((n) => shouldRetry(n, behind, { maxAttempts: 2 }))).toEqual([true, false]);
    expect(shouldRetry(0, behind, { maxAttempts: 1 })).toBe(false);
  });

  it('gives up at once when Retry-After asks for longer than maxDelayMs', () => {
    expect(shouldRetry(0, problem(429, 'RATE_LIMITED', 30))).toBe(true);
    expect(shouldRetry(0, problem(429, 'RATE_LIMITED', 31))).toBe(false);
    expect(shouldRetry(0, problem(429, 'RATE_LIMITED', 5), { maxDelayMs: 4000 })).toBe(false);
  });
});

describe('retry delays', () => {
  const transient = problem(502);

  it('backs off exponentially with full jitter: uniform below base·2^n, capped', () => {
    const top = () => 0.999999;
    expect([0, 1, 2, 3].map((n) => retryDelay(n, transient, {}, top))).toEqual([249, 499, 999, 1999]);
    expect([0, 1, 2].map((n) => retryDelay(n, transient, {}, () => 0))).toEqual([0, 0, 0]);
    expect(retryDelay(20, transient, {}, top)).toBe(DEFAULT_RETRY.maxDelayMs - 1);
    expect(retryDelay(3, transient, { baseDelayMs: 100, maxDelayMs: 500 }, top)).toBe(499);
  });

  it('waits at least Retry-After, with less than baseDelayMs of jitter on top', () => {
    const error = problem(503, 'READ_MODEL_BEHIND', 2);
    expect(retryDelay(0, error, {}, () => 0)).toBe(2000);
    expect(retryDelay(3, error, {}, () => 0.999999)).toBe(2249);
    expect(retryDelay(0, problem(429, 'RATE_LIMITED', 0), {}, () => 0.5)).toBe(125);
  });

  it('withRetries retries transient failures only, waiting between attempts', async () => {
    const waits: number[] = [];
    const sleep = async (ms: number) => void waits.push(ms);
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls++;
          if (calls < 3) throw problem(503, 'EVENT_STORE_UNAVAILABLE', 1);
          return 'done';
        },
        {},
        sleep,
      ),
    ).resolves.toBe('done');
    expect(calls).toBe(3);
    expect(waits).toHaveLength(2);
    expect(waits.every((ms) => ms >= 1000 && ms < 1000 + DEFAULT_RETRY.baseDelayMs)).toBe(true);

    calls = 0;
    const notFound = problem(404, 'TASK_NOT_FOUND');
    await expect(
      withRetries(
        async () => {
          calls++;
          throw notFound;
        },
        {},
        sleep,
      ),
    ).rejects.toBe(notFound);
    expect(calls).toBe(1);

    calls = 0;
    await expect(
      withRetries(
        async () => {
          calls++;
          throw problem(502);
        },
        { maxAttempts: 3 },
        sleep,
      ),
    ).rejects.toMatchObject({ status: 502 });
    expect(calls).toBe(3);
  });
});
