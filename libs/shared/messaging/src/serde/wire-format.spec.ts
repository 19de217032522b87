import { NotWireFormatError } from './serde-errors';
import { readWireHeader, WireSlab } from './wire-format';

const wire = (id: number, body: number[]) => {
  const b = Buffer.alloc(5 + body.length);
  b.writeInt32BE(id, 1);
  Buffer.from(body).copy(b, 5);
  return b;
};

describe('readWireHeader', () => {
  it('reads the schema id and gives the body as a view', () => {
    const message = wire(4242, [2, 120]);
    const { schemaId, body } = readWireHeader(message);
    expect(schemaId).toBe(4242);
    expect([...body]).toEqual([2, 120]);
    expect(body.buffer).toBe(message.buffer);
  });

  it.each([
    ['an empty message', Buffer.alloc(0), 'empty message'],
    ['JSON', Buffer.from('{"eventId":"x"}'), "magic byte is 0x7b ('{'), expected 0x00, looks like JSON"],
    ['a wrong magic byte', Buffer.from([1, 0, 0, 0, 1, 2]), 'magic byte is 0x01, expected 0x00'],
    ['a truncated header', Buffer.from([0, 0, 1]), '3 bytes is shorter than the 5-byte header'],
    ['a negative schema id', wire(-5, [0]), 'schema id -5 is not a registry id'],
  ])('rejects %s with the reason', (_, bytes, reason) => {
    const error = (() => {
      try {
        readWireHeader(bytes);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(NotWireFormatError);
    expect(error).toMatchObject({
      code: 'NOT_WIRE_FORMAT',
      retriable: false,
      message: `not Confluent wire format: ${reason}`,
    });
  });
});

describe('WireSlab', () => {
  const writeBytes = (bytes: number[]) => (buffer: Buffer, offset: number) => {
    if (buffer.length - offset < bytes.length) return -1;
    Buffer.from(bytes).copy(buffer, offset);
    return offset + bytes.length;
  };

  it('writes header and body, and never overwrites a message it handed out', () => {
    const slab = new WireSlab(64);
    const first = slab.write(7, writeBytes([1, 2, 3]));
    const rest = Array.from({ length: 50 }, (_, i) => slab.write(8 + i, writeBytes([i, i, i, i])));
    expect([...first]).toEqual([0, 0, 0, 0, 7, 1, 2, 3]);
    rest.forEach((message, i) =>
      expect(readWireHeader(message)).toEqual({ schemaId: 8 + i, body: Buffer.from([i, i, i, i]) }),
    );
  });

  it('fits a message larger than a whole slab', () => {
    const slab = new WireSlab(16);
    const big = Array.from({ length: 100 }, (_, i) => i);
    const message = slab.write(3, writeBytes(big));
    expect(message.length).toBe(105);
    expect([...readWireHeader(message).body]).toEqual(big);
  });
});
