import { DomainError } from '@cqrs/util';
import { etagOf, parseIdempotencyKey, parseIfMatch, parseOptionalId, parseTraceContext } from './command-context';

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

describe('X-Correlation-Id and X-Causation-Id', () => {
  it('accepts visible ASCII up to 255 characters; absent or empty is none', () => {
    expect(parseOptionalId('X-Correlation-Id', 'req-7f3a/2')).toBe('req-7f3a/2');
    expect(parseOptionalId('X-Causation-Id', 'c'.repeat(255))).toHaveLength(255);
    expect(parseOptionalId('X-Correlation-Id', undefined)).toBeUndefined();
    expect(parseOptionalId('X-Correlation-Id', '')).toBeUndefined();
  });

  it.each(['c'.repeat(256), 'has space', ' padded', 'caf\u00e9', 'tab\there', 'a, b'])(
    'rejects %j, naming the header',
    (value) => {
      expect(() => parseOptionalId('X-Causation-Id', value)).toThrow(DomainError);
      try {
        parseOptionalId('X-Causation-Id', value);
      } catch (e) {
        expect((e as DomainError).details).toEqual({ errors: [expect.objectContaining({ field: 'X-Causation-Id' })] });
      }
    },
  );
});

describe('W3C trace context', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('keeps a valid traceparent and the well-formed members of tracestate', () => {
    expect(parseTraceContext(traceparent, 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')).toEqual({
      traceparent,
      tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    });
    expect(parseTraceContext(traceparent, 'rojo=1,BAD KEY=2,x=\u0000')).toEqual({ traceparent, tracestate: 'rojo=1' });
    expect(parseTraceContext(traceparent, undefined)).toEqual({ traceparent });
  });

  it('passes a later version on as version 00, without its extra fields', () => {
    expect(
      parseTraceContext(`cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-${'x'.repeat(16_000)}`, undefined),
    ).toEqual({ traceparent });
  });

  it.each([
    ['junk', 'not-a-traceparent'],
    ['upper-case hex', traceparent.toUpperCase()],
    ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['version 00 with extra fields', `${traceparent}-extra`],
    ['two of them, joined', `${traceparent}, ${traceparent}`],
    ['16 KB', 'x'.repeat(16_384)],
  ])('ignores a malformed traceparent (%s), and tracestate with it', (_name, value) => {
    expect(parseTraceContext(value, 'rojo=00f067aa0ba902b7')).toEqual({});
  });

  it('bounds tracestate to 512 characters', () => {
    const members = Array.from({ length: 100 }, (_, i) => `k${i}=${'v'.repeat(100)}`).join(',');
    const { tracestate } = parseTraceContext(traceparent, members);
    expect(tracestate?.length).toBeLessThanOrEqual(512);
    expect(tracestate).toMatch(/^k\d+=v+(,k\d+=v+)*$/);
  });
});
