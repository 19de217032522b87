import { isDomainError } from '@cqrs/util';
import { ConcurrencyError, IdempotencyKeyInUseError, IdempotencyKeyReusedError } from './event-store.errors';

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
    expect(new IdempotencyKeyInUseError('POST /tasks', 'abc')).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_USE', httpStatus: 409 });
  });
});
