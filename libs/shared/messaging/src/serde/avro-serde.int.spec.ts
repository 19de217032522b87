import { randomUUID } from 'node:crypto';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
// Integration tests take their servers from @cqrs/testing; the tag matrix has no spec-file exception yet.
import { freePort, getTestInfra, registryRequest, type TestInfra } from '@cqrs/testing';
import { AvroSerde, type SchemaRegistryClient } from './avro-serde';
import type { EventContract } from './event-contract';
import { createSchemaRegistry } from './schema-registry';
import {
  BodyMismatchError,
  IncompatibleSchemaError,
  InvalidValueError,
  NotWireFormatError,
  RegistryUnavailableError,
  SchemaNotRegisteredError,
  UnknownRecordTypeError,
  UnknownSchemaIdError,
} from './serde-errors';

// Throwaway subjects: a topic unique to this run, deleted afterwards.
const topic = `serde-it-${randomUUID().slice(0, 8)}.events`;
const common = [
  { name: 'eventId', type: { type: 'string', logicalType: 'uuid' } },
  { name: 'aggregateVersion', type: 'long' },
  { name: 'occurredAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
];
const noteV1 = {
  type: 'record',
  name: 'NoteTaken',
  namespace: 'serde.it',
  fields: [...common, { name: 'text', type: 'string' }],
};
const noteV2 = {
  ...noteV1,
  fields: [
    ...noteV1.fields,
    { name: 'tags', type: { type: 'array', items: 'string' }, default: [] },
    { name: 'pinned', type: ['null', 'boolean'], default: null },
  ],
};
const contract = (schema: { name: string; namespace: string }): EventContract => ({
  eventType: schema.name,
  recordName: `${schema.namespace}.${schema.name}`,
  topic,
  subject: `${topic}-${schema.namespace}.${schema.name}`,
  compatibility: 'FULL_TRANSITIVE',
  schema,
});
const v1Note = { eventId: randomUUID(), aggregateVersion: 3, occurredAt: 1767225600123, text: 'buy milk' };

let infra: TestInfra;
let url: string;
let registry: SchemaRegistry;
const subjects = new Set<string>();

async function registryCall(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const { status, text } = await registryRequest(infra.schemaRegistry, path, {
    method,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status, json: text ? JSON.parse(text) : undefined };
}

/** A serde writing/reading `schemas`, remembering subjects for cleanup. */
function serdeFor(schemas: object[], options: { autoRegister?: boolean; registry?: SchemaRegistryClient } = {}) {
  const contracts = schemas.map((s) => contract(s as { name: string; namespace: string }));
  contracts.forEach((c) => subjects.add(c.subject));
  return new AvroSerde({
    registry: options.registry ?? registry,
    contracts,
    autoRegister: options.autoRegister ?? true,
  });
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  infra = await getTestInfra();
  url = infra.schemaRegistry.url;
  registry = createSchemaRegistry({ ...infra.schemaRegistry, retries: 0 });
});

afterAll(async () => {
  for (const subject of subjects) {
    await registryCall('DELETE', `/subjects/${encodeURIComponent(subject)}`);
    await registryCall('DELETE', `/subjects/${encodeURIComponent(subject)}?permanent=true`);
  }
});

describe('AvroSerde against the real registry', () => {
  it('encodes to Confluent wire format under the id the registry resolves at /schemas/ids/{id}', async () => {
    const serde = serdeFor([noteV1]);
    const bytes = await serde.encode(topic, 'NoteTaken', v1Note);

    expect(bytes[0]).toBe(0);
    const id = bytes.readInt32BE(1);
    const byId = await registryCall('GET', `/schemas/ids/${id}`);
    expect(byId.status).toBe(200);
    expect(JSON.parse((byId.json as { schema: string }).schema)).toEqual(noteV1);
    // The subject got the contract's level when the first version was registered.
    const config = await registryCall('GET', `/config/${encodeURIComponent(contract(noteV1).subject)}`);
    expect(config.json).toEqual({ compatibilityLevel: 'FULL_TRANSITIVE' });

    await expect(serde.decode(bytes, { topic })).resolves.toEqual({
      schemaId: id,
      recordName: 'serde.it.NoteTaken',
      eventType: 'NoteTaken',
      subject: contract(noteV1).subject,
      value: v1Note,
    });
  });

  it('produces bytes the standard @kafkajs client decodes, and decodes bytes it produced', async () => {
    const serde = serdeFor([noteV1]);
    const ours = await serde.encode(topic, 'serde.it.NoteTaken', v1Note);
    expect(await registry.decode(ours)).toEqual(v1Note);

    const id = await registry.getLatestSchemaId(contract(noteV1).subject);
    const theirs = await registry.encode(id, v1Note);
    expect((await serde.decode(theirs)).value).toEqual(v1Note);
  });

  it('asks the registry once per subject and once per schema id, then works from its cache', async () => {
    const calls: string[] = [];
    const counting: SchemaRegistryClient = {
      getSchema: (id) => (calls.push(`getSchema ${id}`), registry.getSchema(id)),
      getRegistryIdBySchema: (subject, schema) => (
        calls.push('lookup'),
        registry.getRegistryIdBySchema(subject, schema)
      ),
      register: ((schema: never, opts: never) => (
        calls.push('register'),
        registry.register(schema, opts)
      )) as SchemaRegistryClient['register'],
    };
    const serde = serdeFor([noteV1], { registry: counting });
    const messages = await Promise.all(
      Array.from({ length: 20 }, (_, i) => serde.encode(topic, 'NoteTaken', { ...v1Note, aggregateVersion: i + 1 })),
    );
    const decoded = await Promise.all(messages.map((m) => serde.decode(m)));

    expect(decoded.map((d) => (d.value as typeof v1Note).aggregateVersion)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(calls).toEqual(['lookup', `getSchema ${messages[0].readInt32BE(1)}`]);
  });

  it('lets a consumer on v2 read v1 records (defaults fill the new fields) and a consumer on v1 read v2 records', async () => {
    const producerV1 = serdeFor([noteV1]);
    const producerV2 = serdeFor([noteV2]);
    const v2Note = { ...v1Note, tags: ['home'], pinned: true };
    const fromV1 = await producerV1.encode(topic, 'NoteTaken', v1Note);
    const fromV2 = await producerV2.encode(topic, 'NoteTaken', v2Note);
    expect(fromV2.readInt32BE(1)).not.toBe(fromV1.readInt32BE(1));

    const consumerV2 = serdeFor([noteV2], { autoRegister: false });
    const consumerV1 = serdeFor([noteV1], { autoRegister: false });
    expect((await consumerV2.decode(fromV1)).value).toEqual({ ...v1Note, tags: [], pinned: null });
    expect((await consumerV2.decode(fromV2)).value).toEqual(v2Note);
    expect((await consumerV1.decode(fromV2)).value).toEqual(v1Note);
  });

  it('registering the same schema again returns the same id and adds no version', async () => {
    const subject = contract(noteV1).subject;
    const before = await registryCall('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
    const again = await serdeFor([noteV1]).encode(topic, 'NoteTaken', v1Note);
    const after = await registryCall('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
    expect(after.json).toEqual(before.json);
    expect(again.readInt32BE(1)).toBe(
      await registry.getRegistryIdBySchema(subject, { type: 'AVRO' as never, schema: JSON.stringify(noteV1) }),
    );
  });
});

describe('AvroSerde failures: typed errors with a reason, never a crash or a silent null', () => {
  let valid: Buffer;
  beforeAll(async () => {
    valid = await serdeFor([noteV1]).encode(topic, 'NoteTaken', v1Note);
  });

  it('NOT_WIRE_FORMAT for JSON bytes', async () => {
    const error = await rejectionOf(serdeFor([noteV1]).decode(Buffer.from(JSON.stringify(v1Note))));
    expect(error).toBeInstanceOf(NotWireFormatError);
    expect(error).toMatchObject({ code: 'NOT_WIRE_FORMAT', retriable: false });
    expect((error as Error).message).toContain('looks like JSON');
  });

  it('UNKNOWN_SCHEMA_ID for an id the registry does not have', async () => {
    const bytes = Buffer.from(valid);
    bytes.writeInt32BE(2_000_000_000, 1);
    const error = await rejectionOf(serdeFor([noteV1]).decode(bytes));
    expect(error).toBeInstanceOf(UnknownSchemaIdError);
    expect(error).toMatchObject({ code: 'UNKNOWN_SCHEMA_ID', retriable: false, schemaId: 2_000_000_000 });
  });

  it('REGISTRY_UNAVAILABLE (retriable) when the registry cannot be reached, for decode and encode', async () => {
    const down = createSchemaRegistry({ url: `http://127.0.0.1:${await freePort()}/apis/ccompat/v7`, retries: 0 });
    const serde = serdeFor([noteV1], { registry: down });

    const decodeError = await rejectionOf(serde.decode(valid));
    expect(decodeError).toBeInstanceOf(RegistryUnavailableError);
    expect(decodeError).toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retriable: true,
      schemaId: valid.readInt32BE(1),
    });
    expect((decodeError as Error).message).toContain('ECONNREFUSED');

    await expect(serde.encode(topic, 'NoteTaken', v1Note)).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retriable: true,
    });
  });

  it('REGISTRY_UNAVAILABLE, not UNKNOWN_SCHEMA_ID, when the URL is not the registry API (a 404 from elsewhere)', async () => {
    const wrong = createSchemaRegistry({
      ...infra.schemaRegistry,
      url: url.replace(/\/apis\/ccompat\/v7$/, '/not-the-api'),
      retries: 0,
    });
    await expect(serdeFor([noteV1], { registry: wrong }).decode(valid)).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retriable: true,
    });
  });

  it.each([
    ['truncated', (b: Buffer) => b.subarray(0, b.length - 3), 'truncated buffer'],
    ['followed by extra bytes', (b: Buffer) => Buffer.concat([b, Buffer.from([1, 2, 3])]), 'trailing data'],
  ])('BODY_MISMATCH when the body is %s', async (_, corrupt, reason) => {
    const error = await rejectionOf(serdeFor([noteV1]).decode(corrupt(valid)));
    expect(error).toBeInstanceOf(BodyMismatchError);
    expect(error).toMatchObject({ code: 'BODY_MISMATCH', retriable: false });
    expect((error as Error).message).toContain(reason);
  });

  it('UNKNOWN_RECORD_TYPE when this consumer has no contract for the record', async () => {
    const other = { type: 'record', name: 'Unrelated', namespace: 'serde.it', fields: [{ name: 'x', type: 'int' }] };
    await expect(serdeFor([other]).decode(valid)).rejects.toBeInstanceOf(UnknownRecordTypeError);
  });

  it('INCOMPATIBLE_SCHEMA when the reader needs a field the writer never wrote', async () => {
    const stricter = { ...noteV1, fields: [...noteV1.fields, { name: 'author', type: 'string' }] };
    const consumer = new AvroSerde({ registry, contracts: [contract(stricter)] });
    const error = await rejectionOf(consumer.decode(valid));
    expect(error).toBeInstanceOf(IncompatibleSchemaError);
    expect((error as Error).message).toContain('author');
  });

  it('SCHEMA_NOT_REGISTERED when the subject lacks the writer schema and auto-registration is off', async () => {
    const unregistered = { ...noteV1, name: 'NeverRegistered' };
    const error = await rejectionOf(
      serdeFor([unregistered], { autoRegister: false }).encode(topic, 'NeverRegistered', v1Note),
    );
    expect(error).toBeInstanceOf(SchemaNotRegisteredError);
    expect((error as Error).message).toContain('npm run schemas:register');
  });

  it('INVALID_VALUE naming the fields when a value does not fit the schema', async () => {
    const error = await rejectionOf(
      serdeFor([noteV1]).encode(topic, 'NoteTaken', { ...v1Note, text: undefined, aggregateVersion: 1.5 }),
    );
    expect(error).toBeInstanceOf(InvalidValueError);
    expect((error as InvalidValueError).paths.sort()).toEqual(['aggregateVersion', 'text']);
  });
});
