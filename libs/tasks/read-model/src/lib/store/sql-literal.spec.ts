import { sqlLiteral } from './sql-literal';

describe('sqlLiteral', () => {
  it('quotes scalars and doubles single quotes; backslashes switch to an E string', () => {
    expect(sqlLiteral("it's", 'text')).toBe("'it''s'::text");
    expect(sqlLiteral('a\\b', 'text')).toBe(" E'a\\\\b'::text");
    expect(sqlLiteral(42, 'bigint')).toBe("'42'::bigint");
    expect(sqlLiteral(false, 'boolean')).toBe("'false'::boolean");
    expect(sqlLiteral(new Date('2025-01-01T00:00:00Z'), 'timestamptz')).toBe("'2025-01-01T00:00:00.000Z'::timestamptz");
  });

  it('writes null as a typed NULL', () => {
    expect(sqlLiteral(null, 'text')).toBe('NULL::text');
    expect(sqlLiteral(undefined, 'int')).toBe('NULL::int');
  });

  it('builds array literals with every element quoted and NULL elements unquoted', () => {
    expect(sqlLiteral(['a', null, 'b,c', '{x}'], 'text[]')).toBe(`'{"a",NULL,"b,c","{x}"}'::text[]`);
    expect(sqlLiteral(['NULL'], 'text[]')).toBe(`'{"NULL"}'::text[]`);
    expect(sqlLiteral(['say "hi"'], 'text[]')).toBe(` E'{"say \\\\"hi\\\\""}'::text[]`);
    expect(sqlLiteral([1, 2], 'bigint[]')).toBe(`'{"1","2"}'::bigint[]`);
    expect(sqlLiteral([], 'text[]')).toBe(`'{}'::text[]`);
  });

  it('writes bytes in bytea hex form', () => {
    expect(sqlLiteral(Buffer.from([1, 255]), 'bytea')).toBe(" E'\\\\x01ff'::bytea");
  });

  it('rejects what it cannot write safely', () => {
    expect(() => sqlLiteral(Number.NaN, 'int')).toThrow(/finite/);
    expect(() => sqlLiteral('x', 'text; DROP TABLE t')).toThrow(/cast/);
  });
});
