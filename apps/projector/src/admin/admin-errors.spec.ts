import { DomainError } from '@cqrs/util';
import { KafkaJSConnectionError } from 'kafkajs';
import { toAdminError } from './admin-errors';

describe('toAdminError', () => {
  it('answers an unreachable or overloaded database with 503 DATABASE_UNAVAILABLE and Retry-After', () => {
    for (const cause of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      new Error('timeout exceeded when trying to connect'),
    ]) {
      expect(toAdminError(cause)).toMatchObject({
        code: 'DATABASE_UNAVAILABLE',
        kind: 'unavailable',
        headers: { 'Retry-After': '5' },
      });
    }
  });

  it('answers a Kafka client error with 503 KAFKA_UNAVAILABLE', () => {
    expect(toAdminError(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'))).toMatchObject({
      code: 'KAFKA_UNAVAILABLE',
      kind: 'unavailable',
      message: expect.stringContaining('Connection error'),
    });
  });

  it('passes coded errors and anything else on as they are', () => {
    const coded = new DomainError('DEAD_LETTER_NOT_HEAD', 'conflict', 'x');
    const bug = new TypeError('x is undefined');
    expect(toAdminError(coded)).toBe(coded);
    expect(toAdminError(bug)).toBe(bug);
  });
});
