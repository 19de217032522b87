import { headersToText, MAX_HEADER_BYTES } from './consumed-record';

describe('headersToText', () => {
  it('reads UTF-8 header values as text, keeping the first of a repeated header', () => {
    expect(
      headersToText({
        eventType: Buffer.from('TaskCreated'),
        title: Buffer.from('Grüße 😀'),
        twice: [Buffer.from('a'), Buffer.from('b')],
      }),
    ).toEqual({
      headers: { eventType: 'TaskCreated', title: 'Grüße 😀', twice: 'a' },
    });
  });

  it('names a value with a NUL, or that is not UTF-8, and escapes it so any store takes it', () => {
    expect(headersToText({ traceparent: Buffer.from('00-ab\u0000cd') })).toEqual({
      headers: { traceparent: '00-ab\\u0000cd' },
      problem: {
        code: 'HEADER_NOT_TEXT',
        message: expect.stringMatching(/^header "traceparent" must not contain control characters/),
      },
    });
    expect(headersToText({ id: Buffer.from([0x61, 0xff, 0x5c]) })).toEqual({
      headers: { id: 'a\\xff\\x5c' },
      problem: { code: 'HEADER_NOT_TEXT', message: 'header "id" is not valid UTF-8' },
    });
  });

  it('names a header name with a control character, escaped', () => {
    expect(headersToText({ 'a\u0000b': Buffer.from('x') })).toEqual({
      headers: { 'a\\u0000b': 'x' },
      problem: { code: 'HEADER_NOT_TEXT', message: 'header "a\\u0000b" has a name with control characters' },
    });
  });

  it(`refuses headers over ${MAX_HEADER_BYTES} bytes in all, and cuts what it shows of them`, () => {
    const { headers, problem } = headersToText({ a: Buffer.from('😀'.repeat(MAX_HEADER_BYTES / 4)) });
    expect(problem).toEqual({
      code: 'HEADERS_TOO_LARGE',
      message: `headers hold ${MAX_HEADER_BYTES + 1} bytes, over the limit of ${MAX_HEADER_BYTES}`,
    });
    expect(headers['a']).toBe(`${'😀'.repeat(256)}… (cut)`);
    expect(headersToText({ a: Buffer.alloc(MAX_HEADER_BYTES - 1, 0x61) }).problem).toBeUndefined();
  });

  it('keeps a header named __proto__ as data', () => {
    expect(Object.keys(headersToText({ ['__proto__']: Buffer.from('x') }).headers)).toEqual(['__proto__']);
  });
});
