import { describeDatabaseError, redactUrl } from './migrate';

const URL_ = 'postgres://cqrs_owner:s3cret@db.example:5433/cqrs_write';

describe('redactUrl', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactUrl(URL_)).toBe('postgres://cqrs_owner:***@db.example:5433/cqrs_write');
    expect(redactUrl('postgres://host/db')).toBe('postgres://host/db');
  });

  it('never echoes an unparseable URL (it may be a secret)', () => {
    expect(redactUrl('not a url s3cret')).toBe('<unparseable database URL>');
  });
});

describe('describeDatabaseError', () => {
  it.each([
    [
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' },
      /^cannot reach PostgreSQL at .*: connection refused\. Is it running\?/,
    ],
    // Node wraps dual-stack connect failures in an AggregateError without a top-level code.
    [
      Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], ''), {}),
      /connection refused/,
    ],
    [{ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND db.example' }, /^cannot resolve the database host/],
    [
      { code: '28P01', message: 'password authentication failed for user "cqrs_owner"' },
      /^PostgreSQL rejected the credentials/,
    ],
    [{ code: '3D000', message: 'database "cqrs_write" does not exist' }, /^database of .* does not exist/],
    [{ code: '42501', message: 'permission denied for schema public' }, /run migrations as the owner role/],
    [new Error('Connection terminated due to connection timeout'), /^timed out connecting/],
    [new Error('something else'), /^database error on .*: something else$/],
  ])('explains %p', (error, expected) => {
    const message = describeDatabaseError(error, URL_);
    expect(message).toMatch(expected);
    expect(message).toContain('cqrs_owner:***@db.example:5433');
    expect(message).not.toContain('s3cret');
  });
});
