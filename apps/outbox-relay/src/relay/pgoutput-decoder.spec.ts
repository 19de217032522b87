import { decodeBinary, decodeByteaText, PgoutputDecoder, PgoutputProtocolError } from './pgoutput-decoder';

// Builders for pgoutput protocol-1 messages, as the walsender sends them.
const u8 = (n: number) => Buffer.from([n]);
const i16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const i64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
const str = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), u8(0)]);
const char = (c: string) => Buffer.from(c, 'latin1');

const relation = (oid: number, columns: [string, number][]) =>
  Buffer.concat([
    char('R'),
    i32(oid),
    str('public'),
    str('outbox'),
    char('d'),
    i16(columns.length),
    ...columns.flatMap(([name, type]) => [u8(0), str(name), i32(type), i32(-1 >>> 0)]),
  ]);
const insert = (oid: number, values: (string | null)[]) =>
  Buffer.concat([
    char('I'),
    i32(oid),
    char('N'),
    i16(values.length),
    ...values.flatMap((v) =>
      v === null ? [char('n')] : [char('t'), i32(Buffer.byteLength(v)), Buffer.from(v, 'utf8')],
    ),
  ]);

describe('PgoutputDecoder', () => {
  it('decodes begin and commit with their WAL positions', () => {
    const decoder = new PgoutputDecoder();
    expect(decoder.decode(Buffer.concat([char('B'), i64(0x1_0000_0100n), i64(0n), i32(77)]))).toEqual({
      tag: 'begin',
      finalLsn: 0x1_0000_0100n,
      xid: 77,
    });
    expect(decoder.decode(Buffer.concat([char('C'), u8(0), i64(0x100n), i64(0x180n), i64(0n)]))).toEqual({
      tag: 'commit',
      commitLsn: 0x100n,
      endLsn: 0x180n,
    });
  });

  it('decodes an insert against its relation: text as strings, bytea as the exact bytes, nulls as null', () => {
    const decoder = new PgoutputDecoder();
    decoder.decode(
      relation(16384, [
        ['id', 2950],
        ['payload', 17],
        ['note', 25],
        ['missing', 25],
      ]),
    );
    const message = decoder.decode(
      insert(16384, ['7d1b6a38-5f0e-4a55-9b0a-0c2b5a3c1f00', '\\x00000000ff0aff', 'näive ✓', null]),
    );
    expect(message).toMatchObject({ tag: 'insert', relation: { name: 'outbox', schema: 'public' } });
    if (message.tag !== 'insert') throw new Error('not an insert');
    expect(message.values).toEqual([
      '7d1b6a38-5f0e-4a55-9b0a-0c2b5a3c1f00',
      Buffer.from([0, 0, 0, 0, 0xff, 0x0a, 0xff]),
      'näive ✓',
      null,
    ]);
  });

  it('returns values that survive the driver reusing its read buffer', () => {
    const decoder = new PgoutputDecoder();
    decoder.decode(
      relation(1, [
        ['payload', 17],
        ['note', 25],
      ]),
    );
    const wire = insert(1, ['\\x0102', 'abc']);
    const message = decoder.decode(wire);
    wire.fill(0);
    expect(message.tag === 'insert' && message.values).toEqual([Buffer.from([1, 2]), 'abc']);
  });

  it('reports updates, deletes and truncates as "other" (the relay ignores them)', () => {
    const decoder = new PgoutputDecoder();
    expect(decoder.decode(Buffer.concat([char('D'), i32(1)]))).toEqual({ tag: 'other', kind: 'delete' });
    expect(decoder.decode(Buffer.concat([char('U'), i32(1)]))).toEqual({ tag: 'other', kind: 'update' });
    expect(decoder.decode(Buffer.concat([char('T'), i32(1)]))).toEqual({ tag: 'other', kind: 'truncate' });
  });

  it('fails loudly on an insert for an unknown relation or an unknown message', () => {
    const decoder = new PgoutputDecoder();
    expect(() => decoder.decode(insert(99, ['x']))).toThrow(PgoutputProtocolError);
    expect(() => decoder.decode(char('Z'))).toThrow('unknown pgoutput message type 0x5a');
  });
});

describe('decodeByteaText', () => {
  const decode = (text: string) => {
    const b = Buffer.from(text, 'latin1');
    return decodeByteaText(b, 0, b.length);
  };

  it('decodes the hex format', () => {
    expect(decode('\\x')).toEqual(Buffer.alloc(0));
    expect(decode('\\xdeadBEEF00')).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0]));
  });

  it('decodes the escape format, should a server be set to bytea_output=escape', () => {
    expect(decode('ab\\\\c\\000\\377')).toEqual(Buffer.from([0x61, 0x62, 0x5c, 0x63, 0, 0xff]));
  });
});

describe('decodeBinary (pgoutput binary mode)', () => {
  const render = (typeOid: number, bytes: Buffer) => decodeBinary({ name: 'c', typeOid }, bytes, 0, bytes.length);
  const int64 = (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    return b;
  };

  it('keeps bytea as the exact bytes, in a copy', () => {
    const wire = Buffer.from([0, 0, 0, 0, 7, 255]);
    const value = render(17, wire);
    wire.fill(1);
    expect(value).toEqual(Buffer.from([0, 0, 0, 0, 7, 255]));
  });

  it('renders the types it routes on and places in headers as Postgres prints them', () => {
    expect(render(2950, Buffer.from('7d1b6a385f0e4a559b0a0c2b5a3c1f00', 'hex'))).toBe(
      '7d1b6a38-5f0e-4a55-9b0a-0c2b5a3c1f00',
    );
    expect(render(25, Buffer.from('tasks.task ✓'))).toBe('tasks.task ✓');
    expect(render(20, int64(-9007199254740993n))).toBe('-9007199254740993');
    expect(render(23, Buffer.from([0xff, 0xff, 0xff, 0xfe]))).toBe('-2');
    expect(render(21, Buffer.from([0, 42]))).toBe('42');
    expect(render(16, Buffer.from([1]))).toBe('t');
    expect(render(3802, Buffer.from('\u0001{"a": 1}'))).toBe('{"a": 1}');
  });

  it('renders timestamps in ISO style, UTC, trimming the fraction like Postgres', () => {
    // 2025-03-04 05:06:07.123456 UTC in microseconds since 2000-01-01
    const micros = BigInt(Date.UTC(2025, 2, 4, 5, 6, 7) - Date.UTC(2000, 0, 1)) * 1000n + 123_456n;
    expect(render(1184, int64(micros))).toBe('2025-03-04 05:06:07.123456+00');
    expect(render(1184, int64(micros - 123_456n + 500_000n))).toBe('2025-03-04 05:06:07.5+00');
    expect(render(1114, int64(-1n))).toBe('1999-12-31 23:59:59.999999');
  });

  it('stops on a type it cannot render, saying how to fall back to text', () => {
    expect(() => decodeBinary({ name: 'amount', typeOid: 1700 }, Buffer.alloc(4), 0, 4)).toThrow(
      'column amount (type oid 1700) arrives in binary, which the relay cannot render as text: set OUTBOX_BINARY_TUPLES=false',
    );
  });
});
