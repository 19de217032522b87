import { canRead, explainIncompatibility, readPairs } from './avro-compat.mts';
import { record } from './testing/schema-dir.mts';

const kind = (symbols: string[], extra: object = {}) => ({ type: 'enum', name: 'Kind', symbols, ...extra });
const v1 = record('Thing', [
  { name: 'id', type: 'string' },
  { name: 'count', type: 'int' },
  { name: 'kind', type: kind(['A', 'B', 'C']) },
  { name: 'note', type: ['null', 'string'], default: null },
]);
const withFields = (fields: typeof v1.fields) => ({ ...v1, fields });
const newerReads = { reader: 'v2', writer: 'v1', readerIsNewer: true };
const olderReads = { reader: 'v1', writer: 'v2', readerIsNewer: false };

describe('explainIncompatibility', () => {
  it('finds nothing when an optional field with a default is added, in either direction', () => {
    const v2 = withFields([...v1.fields, { name: 'extra', type: ['null', 'string'], default: null }]);
    expect(explainIncompatibility(v2, v1, newerReads)).toEqual([]);
    expect(explainIncompatibility(v1, v2, olderReads)).toEqual([]);
  });

  it('names a field added without a default (new readers cannot read old data)', () => {
    const v2 = withFields([...v1.fields, { name: 'owner', type: 'string' }]);
    expect(explainIncompatibility(v2, v1, newerReads)).toEqual([
      {
        kind: 'field-without-default',
        path: 'owner',
        message: "field 'owner' was added in v2 without a default, so v2 cannot read v1 data that lacks it",
      },
    ]);
    expect(explainIncompatibility(v1, v2, olderReads)).toEqual([]);
  });

  it('names a field removed while old readers need it (it had no default)', () => {
    const v2 = withFields(v1.fields.filter((f) => f.name !== 'count'));
    expect(explainIncompatibility(v2, v1, newerReads)).toEqual([]);
    expect(explainIncompatibility(v1, v2, olderReads)).toEqual([
      {
        kind: 'field-without-default',
        path: 'count',
        message: "field 'count' was removed in v2, but v1 readers need it (it has no default in v1)",
      },
    ]);
  });

  it('names a field whose type changed, with both types', () => {
    const v2 = withFields(v1.fields.map((f) => (f.name === 'count' ? { ...f, type: 'string' } : f)));
    expect(explainIncompatibility(v2, v1, newerReads)).toEqual([
      {
        kind: 'type-changed',
        path: 'count',
        message: "field 'count' changed type: int in v1 cannot be read as string in v2",
      },
    ]);
  });

  it('accepts the promotions Avro allows (int to long) one way only', () => {
    const v2 = withFields(v1.fields.map((f) => (f.name === 'count' ? { ...f, type: 'long' } : f)));
    expect(canRead(v2, v1)).toBe(true);
    expect(explainIncompatibility(v1, v2, olderReads)[0]).toMatchObject({ kind: 'type-changed', path: 'count' });
  });

  it('names an enum symbol removed, unless the enum has a default', () => {
    const v2 = withFields(v1.fields.map((f) => (f.name === 'kind' ? { ...f, type: kind(['A', 'B']) } : f)));
    expect(explainIncompatibility(v2, v1, newerReads)).toEqual([
      {
        kind: 'enum-symbol-unknown',
        path: 'kind',
        message:
          "enum contract.it.Kind at 'kind': symbol 'C' was removed in v2, but v1 data may contain it (the enum has no default)",
      },
    ]);
    const withDefault = withFields(
      v1.fields.map((f) => (f.name === 'kind' ? { ...f, type: kind(['A', 'B'], { default: 'A' }) } : f)),
    );
    expect(explainIncompatibility(withDefault, v1, newerReads)).toEqual([]);
  });

  it('finds breaks inside nested records and nullable unions, with the path', () => {
    const nested = (valueType: unknown) =>
      record('Outer', [
        {
          name: 'change',
          type: ['null', { type: 'record', name: 'Change', fields: [{ name: 'value', type: valueType }] }],
          default: null,
        },
      ]);
    expect(explainIncompatibility(nested('int'), nested(['null', 'string']), newerReads)).toEqual([
      {
        kind: 'type-changed',
        path: 'change.value',
        message: "field 'change.value' changed type: null in v1 cannot be read as int in v2",
      },
      {
        kind: 'type-changed',
        path: 'change.value',
        message: "field 'change.value' changed type: string in v1 cannot be read as int in v2",
      },
    ]);
  });

  it('reports a renamed record as a new event type', () => {
    expect(explainIncompatibility({ ...v1, name: 'Other' }, v1, newerReads)[0]).toMatchObject({ kind: 'name-changed' });
  });
});

describe('readPairs', () => {
  const pairs = (level: Parameters<typeof readPairs>[0]) =>
    readPairs(level, 3).map((p) => `v${p.reader + 1}<-v${p.writer + 1}`);

  it('BACKWARD: the newest reader reads the previous writer', () =>
    expect(pairs('BACKWARD')).toEqual(['v2<-v1', 'v3<-v2']));
  it('FORWARD_TRANSITIVE: every older reader reads every newer writer', () =>
    expect(pairs('FORWARD_TRANSITIVE')).toEqual(['v1<-v2', 'v1<-v3', 'v2<-v3']));
  it('FULL_TRANSITIVE: every version reads every other', () =>
    expect(pairs('FULL_TRANSITIVE').sort()).toEqual(['v1<-v2', 'v1<-v3', 'v2<-v1', 'v2<-v3', 'v3<-v1', 'v3<-v2']));
  it('NONE: nothing is promised', () => expect(pairs('NONE')).toEqual([]));
});
