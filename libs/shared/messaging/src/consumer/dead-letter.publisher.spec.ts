import { producibleHeaders } from './dead-letter.publisher';

describe('producibleHeaders', () => {
  it('leaves out the null headers kafkajs cannot encode and keeps every other one as it came', () => {
    const bytes = Buffer.from([0x61, 0xff]);
    expect(
      producibleHeaders({
        eventType: 'TaskStarted',
        traceparent: null as unknown as string,
        causationId: undefined,
        raw: bytes,
        many: ['a', null as unknown as string, Buffer.from('b')],
        none: [null as unknown as string],
      }),
    ).toEqual({ eventType: 'TaskStarted', raw: bytes, many: ['a', Buffer.from('b')] });
  });
});
