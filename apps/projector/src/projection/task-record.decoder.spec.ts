import { AvroSerde, RegistryUnavailableError, type SchemaRegistryClient } from '@cqrs/messaging';
import { tasksTaskEventsContracts, tasksTaskEventsTopic } from '@cqrs/tasks-contracts';
import avro from 'avsc';
import { TaskRecordDecoder } from './task-record.decoder';

// An in-memory registry holding the current task schemas under ids 1..n: enough to exercise
// every verdict of the decoder without I/O (the int tests use the real registry).
function registry(options: { down?: boolean } = {}): SchemaRegistryClient {
  const schemas = tasksTaskEventsContracts.map((c) => c.schema);
  return {
    getSchema: async (id: number) => {
      if (options.down) throw new RegistryUnavailableError('connect ECONNREFUSED');
      const schema = schemas[id - 1];
      if (!schema) throw Object.assign(new Error(`Schema ${id} not found`), { status: 404 });
      return avro.Type.forSchema(schema as unknown as avro.Schema) as never;
    },
    getRegistryIdBySchema: async (_subject: string, schema: { schema: string }) =>
      schemas.findIndex((s) => JSON.stringify(s) === schema.schema) + 1,
    register: async () => ({ id: 0 }),
  } as unknown as SchemaRegistryClient;
}

const taskId = '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11';
const started = {
  eventId: '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
  aggregateId: taskId,
  aggregateVersion: 2,
  occurredAt: Date.UTC(2025, 0, 2),
  correlationId: null,
  causationId: null,
};
const record = (
  value: Buffer | null,
  key: string | null = taskId,
  headers: Record<string, string> = { aggregateVersion: '2' },
) => ({
  topic: 't',
  partition: 0,
  offset: '7',
  key: key === null ? null : Buffer.from(key),
  value,
  headers,
});

describe('TaskRecordDecoder', () => {
  const serde = new AvroSerde({ registry: registry(), contracts: tasksTaskEventsContracts });
  const decoder = new TaskRecordDecoder(serde);
  const encodeStarted = (value = started) => serde.encode(tasksTaskEventsTopic, 'TaskStarted', value);

  it('decodes a record into the domain event of its task stream at its version', async () => {
    expect((await decoder.decode(record(await encodeStarted()))).decoded).toEqual({
      ok: true,
      streamId: taskId,
      version: 2,
      event: { type: 'TaskStarted', data: { taskId, startedAt: '2025-01-02T00:00:00.000Z' } },
    });
  });

  it('calls a schema id the registry does not know poison (UNKNOWN_SCHEMA), keeping the version from the headers', async () => {
    const bytes = Buffer.from([0, 0, 0, 0, 99, 1, 2]);
    expect((await decoder.decode(record(bytes))).decoded).toMatchObject({
      ok: false,
      reason: 'UNKNOWN_SCHEMA',
      code: 'UNKNOWN_SCHEMA_ID',
      streamId: taskId,
      version: 2,
    });
  });

  it('calls bytes that are not the wire format, or do not match their schema, undecodable', async () => {
    expect((await decoder.decode(record(Buffer.from('{"json":true}')))).decoded).toMatchObject({
      reason: 'UNDECODABLE',
      code: 'NOT_WIRE_FORMAT',
    });
    const truncated = (await encodeStarted()).subarray(0, 12);
    expect((await decoder.decode(record(truncated))).decoded).toMatchObject({
      reason: 'UNDECODABLE',
      code: 'BODY_MISMATCH',
    });
    expect((await decoder.decode(record(null))).decoded).toMatchObject({ reason: 'UNDECODABLE', code: 'EMPTY_VALUE' });
  });

  it('calls a record without a key, or keyed by another task, poison', async () => {
    expect((await decoder.decode(record(await encodeStarted(), null))).decoded).toMatchObject({
      reason: 'NO_KEY',
      streamId: null,
    });
    expect((await decoder.decode(record(await encodeStarted(), 'another-task'))).decoded).toMatchObject({
      reason: 'INVARIANT_VIOLATED',
      code: 'KEY_MISMATCH',
    });
  });

  it('calls a key that is no identifier poison of no stream, showing the key escaped', async () => {
    const bad = { ...record(await encodeStarted()), key: Buffer.from([0x74, 0x00, 0xff]) };
    expect((await decoder.decode(bad)).decoded).toMatchObject({
      ok: false,
      streamId: null,
      reason: 'UNDECODABLE',
      code: 'INVALID_KEY',
      message: 'the record key is no task id (it must be valid UTF-8): "t\\x00\\xff"',
    });
    const blank = { ...record(await encodeStarted()), key: Buffer.from(' ') };
    expect((await decoder.decode(blank)).decoded).toMatchObject({ streamId: null, code: 'INVALID_KEY' });
  });

  it('calls a record whose headers are not text poison of its stream, whatever its value', async () => {
    const bad = {
      ...record(await encodeStarted()),
      headerProblem: { code: 'HEADER_NOT_TEXT' as const, message: 'header "x" is not valid UTF-8' },
    };
    expect((await decoder.decode(bad)).decoded).toMatchObject({
      ok: false,
      streamId: taskId,
      version: 2,
      reason: 'UNDECODABLE',
      code: 'HEADER_NOT_TEXT',
    });
  });

  it('calls an event holding text Postgres cannot store (NUL, a lone surrogate) poison, naming the field', async () => {
    const updated = { ...started, title: 'a\u0000b', description: null, dueDate: null };
    const nul = record(await serde.encode(tasksTaskEventsTopic, 'TaskUpdated', updated));
    expect((await decoder.decode(nul)).decoded).toMatchObject({
      reason: 'INVARIANT_VIOLATED',
      code: 'UNSTORABLE_TEXT',
      message: 'TaskUpdated field "title" holds U+0000 (NUL), which Postgres text cannot store',
    });
    // Not reachable from Avro bytes (Node decodes an encoded surrogate as U+FFFD), but a serde that let one through is still refused.
    const lenient = {
      decode: async () => ({ eventType: 'TaskUpdated', value: { ...updated, title: 'x\ud800' } }),
    } as unknown as AvroSerde;
    expect((await new TaskRecordDecoder(lenient).decode(nul)).decoded).toMatchObject({
      code: 'UNSTORABLE_TEXT',
      message: expect.stringContaining('a lone UTF-16 surrogate'),
    });
  });

  it('throws when the registry is unreachable, so the batch is retried rather than parked', async () => {
    const offline = new TaskRecordDecoder(
      new AvroSerde({ registry: registry({ down: true }), contracts: tasksTaskEventsContracts }),
    );
    await expect(offline.decode(record(Buffer.from([0, 0, 0, 0, 3, 1])))).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retriable: true,
    });
  });
});
