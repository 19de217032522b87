import { isDomainError } from '@cqrs/util';
import {
  ConcurrencyError,
  EventStoreUnavailableError,
  IdempotencyKeyInUseError,
  IdempotencyKeyReusedError,
} from './event-store.errors';

describe('event store errors', () => {
  it('a lost race is a 409 naming both versions; pinned by If-Match it becomes a 412', () => {
    const conflict = new ConcurrencyError('task-1', 3, 5);
    expect(conflict).toMatchObject({
      code: 'CONCURRENCY_CONFLICT',
      kind: 'conflict',
      httpStatus: 409,
      message: 'stream task-1 changed concurrently: expected version 3, found 5',
      details: { expectedVersion: 3, actualVersion: 5 },
    });
    const precondition = conflict.asPrecondition();
    expect(precondition).toMatchObject({
      code: 'VERSION_MISMATCH',
      kind: 'precondition',
      httpStatus: 412,
      message: 'stream task-1 is at version 5, not the expected 3',
    });
    expect(precondition.cause).toBe(conflict);
    expect(isDomainError(precondition)).toBe(true);
  });

  it('says so when the actual version could not be read', () => {
    expect(new ConcurrencyError('s', 1, undefined).message).toContain('found unknown');
  });

  it('idempotency errors map to 422 (reused) and 409 (in flight), naming the key', () => {
    expect(new IdempotencyKeyReusedError('POST /tasks', 'abc')).toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
      httpStatus: 422,
      message: 'Idempotency-Key "abc" was already used for a different request',
      details: { idempotencyKey: 'abc' },
    });
    expect(new IdempotencyKeyInUseError('POST /tasks', 'abc')).toMatchObject({
      code: 'IDEMPOTENCY_KEY_IN_USE',
      httpStatus: 409,
    });
  });

  it.each([
    ['pg-pool waiting for a busy pool', new Error('timeout exceeded when trying to connect')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' })],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    [
      'a database shutting down (57P01)',
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    ],
    ['too many connections (53300)', Object.assign(new Error('sorry, too many clients already'), { code: '53300' })],
    [
      'TypeORM wrapping a refused connection',
      Object.assign(new Error('query failed'), { driverError: { code: 'ECONNREFUSED' } }),
    ],
  ])('treats %s as unavailable (503 with Retry-After)', (_, error) => {
    expect(EventStoreUnavailableError.matches(error)).toBe(true);
    expect(new EventStoreUnavailableError(error)).toMatchObject({
      code: 'EVENT_STORE_UNAVAILABLE',
      kind: 'unavailable',
      httpStatus: 503,
      headers: { 'Retry-After': '1' },
      cause: error,
    });
  });

  it.each([
    [
      'a unique violation',
      Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
    ],
    ['a syntax error', Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' })],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'version')")],
    ['not an error at all', undefined],
  ])('does not treat %s as unavailable', (_, error) => {
    expect(EventStoreUnavailableError.matches(error)).toBe(false);
  });
});
