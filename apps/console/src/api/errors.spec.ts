import { describeError, isForbidden, isStale, isUnauthenticated } from './errors';

describe('describeError', () => {
  it("says the problem's title and detail as the service wrote them", () => {
    expect(
      describeError({
        status: 409,
        code: 'INVALID_TRANSITION',
        title: 'Conflict',
        detail: 'task 1 is completed: StartTask is not allowed',
      }),
    ).toBe('Conflict: task 1 is completed: StartTask is not allowed');
  });

  it('falls back to the title, then the status', () => {
    expect(describeError({ status: 503, title: 'Service Unavailable', detail: ' ' })).toBe('Service Unavailable');
    expect(describeError({ status: 418 })).toBe('Request failed (418)');
  });

  it('says plainly when there was no answer at all', () => {
    expect(describeError({ status: 0, code: 'NETWORK_ERROR', title: 'Network error' })).toMatch(/cannot be reached/);
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError('?')).toBe('Something went wrong.');
  });

  it('tells a refused token from a missing role', () => {
    expect(isUnauthenticated({ status: 401 })).toBe(true);
    expect(isUnauthenticated({ status: 403 })).toBe(false);
    expect(isForbidden({ status: 403 })).toBe(true);
    expect(isUnauthenticated(new Error('401'))).toBe(false);
  });

  it('knows which refusals mean the page was out of date', () => {
    expect([404, 409, 412, 400, 422, 503].map((status) => isStale({ status }))).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});
