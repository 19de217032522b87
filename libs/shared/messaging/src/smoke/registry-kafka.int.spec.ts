import { createKafka, createSchemaRegistry } from '..';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { randomBytes } from 'node:crypto';
import { getTestInfra } from '@cqrs/testing';

// Smoke test: the registry and the broker are real and work together the way the apps use them.
describe('schema registry + Kafka (smoke)', () => {
  it('registers an Avro schema, produces an Avro record, consumes and decodes it unchanged', async () => {
    const infra = await getTestInfra();
    const suffix = randomBytes(4).toString('hex');
    const topic = `smoke.avro.${suffix}`;
    const registry = createSchemaRegistry(infra.schemaRegistry);
    const schema = {
      type: 'record',
      name: 'SmokeEvent',
      namespace: `smoke.s${suffix}`,
      fields: [
        { name: 'id', type: 'string' },
        { name: 'count', type: 'long' },
        { name: 'note', type: ['null', 'string'], default: null },
      ],
    };
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject: `${topic}-smoke.s${suffix}.SmokeEvent` },
    );
    const record = { id: `evt-${suffix}`, count: 42, note: 'hello' };
    const encoded = await registry.encode(id, record);
    expect(encoded[0]).toBe(0); // Confluent wire format: magic byte, then the schema id
    expect(encoded.readInt32BE(1)).toBe(id);

    const kafka = createKafka({ clientId: 'smoke', ...infra.kafka });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: record.id, value: encoded }] });

    const consumer = kafka.consumer({ groupId: `smoke-${suffix}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<Buffer>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(message.value as Buffer) });
    });
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();

    expect(received.equals(encoded)).toBe(true);
    expect(await registry.decode(received)).toEqual(record);
  });
});
