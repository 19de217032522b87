import { AvroSerde, type SchemaRegistryClient } from '@cqrs/messaging';
import type { ConsumedRecord } from '@cqrs/messaging/consumer';
import { decodeProjectedRecord } from './projected-event';
import { checkpointTableSql, sqlIdentifier } from './read-database';

// Every verdict below is reached before the registry would be asked: it must never be.
const unreachable = () => Promise.reject(new Error('the registry must not be asked'));
const serde = new AvroSerde({
  registry: {
    getSchema: unreachable,
    getRegistryIdBySchema: unreachable,
    register: unreachable,
  } as never as SchemaRegistryClient,
  contracts: [],
});

const record = (overrides: Partial<ConsumedRecord> = {}): ConsumedRecord => ({
  topic: 'projects.project.events',
  partition: 2,
  offset: '41',
  key: Buffer.from('p-1'),
  value: Buffer.from([0, 0, 0, 0, 7, 2]),
  headers: { aggregateVersion: '3', eventType: 'ProjectCreated' },
  timestamp: '0',
  ...overrides,
});

const verdict = async (r: ConsumedRecord) => {
  const d = await decodeProjectedRecord(serde, r);
  if (d.ok) throw new Error('expected poison');
  return { code: d.code, streamId: d.streamId, version: d.version, message: d.message };
};

describe('decodeProjectedRecord: what no projection could ever apply is poison, with a reason', () => {
  it('a record without a key belongs to no stream', async () => {
    expect(await verdict(record({ key: null }))).toMatchObject({ code: 'NO_KEY', streamId: null, version: 3 });
    expect(await verdict(record({ key: Buffer.alloc(0) }))).toMatchObject({ code: 'NO_KEY' });
  });

  it('a key that is not UTF-8, or not an identifier, is no stream id (and is shown escaped)', async () => {
    const bad = await verdict(record({ key: Buffer.from([0xff, 0x41]) }));
    expect(bad).toMatchObject({ code: 'INVALID_KEY', streamId: null });
    expect(bad.message).toContain('\\xff');
    expect(await verdict(record({ key: Buffer.from('x'.repeat(257)) }))).toMatchObject({ code: 'INVALID_KEY' });
  });

  it('headers that are not text poison the record, in its stream', async () => {
    const problem = { code: 'HEADER_NOT_TEXT' as const, message: 'header "x" is not UTF-8' };
    expect(await verdict(record({ headerProblem: problem }))).toEqual({
      code: 'HEADER_NOT_TEXT',
      streamId: 'p-1',
      version: 3,
      message: 'header "x" is not UTF-8',
    });
  });

  it.each([undefined, '0', '-1', '1.5', 'x', '9007199254740993'])(
    'an aggregateVersion of %p is no version',
    async (version) => {
      const headers: Record<string, string> = version === undefined ? {} : { aggregateVersion: version };
      expect(await verdict(record({ headers }))).toMatchObject({
        code: 'INVALID_VERSION',
        streamId: 'p-1',
        version: null,
      });
    },
  );

  it('an empty value, or bytes that are not the registry wire format, never decode', async () => {
    expect(await verdict(record({ value: null }))).toMatchObject({ code: 'EMPTY_VALUE' });
    expect(await verdict(record({ value: Buffer.from('{"json":true}') }))).toMatchObject({ code: 'NOT_WIRE_FORMAT' });
  });
});

describe('read database names', () => {
  it('accepts lower-case identifiers only, so a name can never inject SQL', () => {
    expect(sqlIdentifier('projects_checkpoints')).toBe('projects_checkpoints');
    for (const bad of ['Projects', 'a;DROP TABLE x', '1abc', 'a-b', 'x'.repeat(64), ''])
      expect(() => sqlIdentifier(bad)).toThrow('is not a lower-case SQL identifier');
    expect(() => checkpointTableSql('bad name')).toThrow();
  });
});
