import { DomainError } from '@cqrs/util';
import { etagOf, parseIdempotencyKey, parseIfMatch } from './command-context';

describe('If-Match', () => {
  it('reads the version from our strong and weak entity tags', () => {
    expect(parseIfMatch('"7"')).toBe(7);
    expect(parseIfMatch('W/"12"')).toBe(12);
    expect(parseIfMatch(etagOf(3))).toBe(3);
  });

  it('is optional', () => {
    expect(parseIfMatch(undefined)).toBeUndefined();
  });

  it.each(['7', '"seven"', '*', '"1", "2"', '""'])('rejects %s as a validation error on the header', (value) => {
    expect(() => parseIfMatch(value)).toThrow(DomainError);
    try {
      parseIfMatch(value);
    } catch (e) {
      expect((e as DomainError).details).toEqual({ errors: [expect.objectContaining({ field: 'If-Match' })] });
    }
  });
});

describe('Idempotency-Key', () => {
  it('accepts visible ASCII up to 255 characters', () => {
    expect(parseIdempotencyKey('order-42/retry')).toBe('order-42/retry');
    expect(parseIdempotencyKey('k'.repeat(255))).toHaveLength(255);
  });

  it.each(['', 'with space', 'k'.repeat(256), 'naïve'])('rejects %j', (value) => {
    expect(() => parseIdempotencyKey(value)).toThrow(DomainError);
  });
});
