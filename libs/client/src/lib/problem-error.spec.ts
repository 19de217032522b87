import {
  ConflictError,
  isConflictError,
  isProblemError,
  parseRetryAfter,
  ProblemError,
  problemFromResponse,
} from './problem-error';

const answer = (status: number, headers: Record<string, string> = {}, statusText = '') => ({
  status,
  statusText,
  headers: new Headers(headers),
});

describe('ProblemError', () => {
  it('carries a problem+json answer: status, code, title, detail, Retry-After', () => {
    const error = problemFromResponse(answer(503, { 'retry-after': '2' }), {
      type: 'https://cqrs-starter.dev/problems/read-model-behind',
      title: 'Service Unavailable',
      status: 503,
      detail: 'The read model has not reached the version yet',
      code: 'READ_MODEL_BEHIND',
      behind: [{ taskId: 't', minVersion: 3, currentVersion: 2 }],
    });
    expect(error).toBeInstanceOf(ProblemError);
    expect(error).not.toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({
      status: 503,
      code: 'READ_MODEL_BEHIND',
      title: 'Service Unavailable',
      detail: 'The read model has not reached the version yet',
      retryAfter: 2,
    });
    expect(error.problem['behind']).toEqual([{ taskId: 't', minVersion: 3, currentVersion: 2 }]);
    expect(error.message).toBe('READ_MODEL_BEHIND: The read model has not reached the version yet');
  });

  it('is a ConflictError on 409 and 412', () => {
    for (const [status, code] of [
      [412, 'VERSION_MISMATCH'],
      [409, 'CONCURRENCY_CONFLICT'],
    ] as const) {
      const error = problemFromResponse(answer(status), { status, code, title: 't', detail: 'd' });
      expect(error).toBeInstanceOf(ConflictError);
      expect(isConflictError(error)).toBe(true);
      expect(error.code).toBe(code);
    }
    expect(isConflictError(problemFromResponse(answer(404), { status: 404, code: 'TASK_NOT_FOUND', title: 't' }))).toBe(
      false,
    );
  });

  it('gives any other error answer a code from its status', () => {
    const error = problemFromResponse(answer(502, {}, 'Bad Gateway'), '<html>upstream down</html>');
    expect(error).toMatchObject({
      status: 502,
      code: 'HTTP_502',
      title: 'Bad Gateway',
      detail: '<html>upstream down</html>',
    });
    expect(isProblemError(error)).toBe(true);
    expect(isProblemError(new Error('plain'))).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-12-03T20:00:00Z');
  it.each([
    ['3', 3],
    [' 0 ', 0],
    ['Thu, 03 Dec 2026 20:00:10 GMT', 10],
    ['Thu, 03 Dec 2026 19:00:00 GMT', 0],
    ['soon', undefined],
    ['-1', undefined],
    [null, undefined],
  ])('%p is %p seconds', (value, seconds) => {
    expect(parseRetryAfter(value, now)).toBe(seconds);
  });
});
