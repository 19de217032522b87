import { isTopicAuthorizationError } from './kafka-errors';

describe('isTopicAuthorizationError', () => {
  it('finds the broker refusal however kafkajs wraps it, and nothing else', () => {
    const refused = Object.assign(new Error('Not authorized to access topics: [Topic authorization failed]'), {
      type: 'TOPIC_AUTHORIZATION_FAILED',
    });
    expect(isTopicAuthorizationError(refused)).toBe(true);
    expect(isTopicAuthorizationError(Object.assign(new Error('retries exceeded'), { cause: refused }))).toBe(true);
    expect(
      isTopicAuthorizationError(
        Object.assign(new Error('Topic creation errors'), { errors: [{ type: 'TOPIC_ALREADY_EXISTS' }, refused] }),
      ),
    ).toBe(true);
    expect(
      isTopicAuthorizationError(
        Object.assign(new Error('Topic creation errors'), { errors: [{ type: 'INVALID_PARTITIONS' }] }),
      ),
    ).toBe(false);
    expect(
      isTopicAuthorizationError(Object.assign(new Error('leader moved'), { type: 'NOT_LEADER_FOR_PARTITION' })),
    ).toBe(false);
    expect(isTopicAuthorizationError(undefined)).toBe(false);
  });
});
