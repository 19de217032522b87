import { DomainError, HTTP_STATUS_BY_ERROR_KIND, isDomainError } from './domain-error';

describe('DomainError', () => {
  it.each([
    ['validation', 400],
    ['unauthenticated', 401],
    ['forbidden', 403],
    ['not_found', 404],
    ['conflict', 409],
    ['precondition', 412],
    ['unprocessable', 422],
    ['rate_limited', 429],
    ['unavailable', 503],
  ] as const)('maps kind %s to HTTP %i', (kind, status) => {
    expect(new DomainError('X', kind, 'x').httpStatus).toBe(status);
    expect(HTTP_STATUS_BY_ERROR_KIND[kind]).toBe(status);
  });

  it('lists every invalid field in one VALIDATION_FAILED error', () => {
    const error = DomainError.validation([
      { field: 'title', message: 'is required' },
      { field: 'dueDate', message: 'must be an ISO-8601 date' },
    ]);
    expect(error).toMatchObject({
      code: 'VALIDATION_FAILED',
      kind: 'validation',
      message: 'title: is required; dueDate: must be an ISO-8601 date',
      details: {
        errors: [
          { field: 'title', message: 'is required' },
          { field: 'dueDate', message: 'must be an ISO-8601 date' },
        ],
      },
    });
  });

  it('keeps the cause for logs', () => {
    const cause = new Error('socket hang up');
    expect(new DomainError('DB_DOWN', 'unavailable', 'try later', { cause }).cause).toBe(cause);
  });

  it('is recognised by isDomainError, also structurally, and plain errors are not', () => {
    expect(isDomainError(new DomainError('X', 'conflict', 'x'))).toBe(true);
    const foreign = Object.assign(new Error('from another bundle'), { code: 'X', kind: 'not_found' });
    expect(isDomainError(foreign)).toBe(true);
    expect(isDomainError(Object.assign(new Error('pg'), { code: '23505' }))).toBe(false);
    expect(isDomainError(Object.assign(new Error('odd'), { code: 'X', kind: 'teapot' }))).toBe(false);
    expect(isDomainError({ code: 'X', kind: 'conflict' })).toBe(false);
  });
});
