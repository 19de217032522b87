import { eventually, getTestInfra } from '@cqrs/testing';
import { metricsRegistry } from '@cqrs/observability';
import type { Kafka, Admin } from 'kafkajs';
import { createKafka } from './kafka-client';
import { randomUUID } from 'node:crypto';
import { BatchConsumer } from './batch-consumer';
import type { ConsumedRecord } from './consumed-record';
import { consumerGroupLag, totalLag } from './consumer-lag';
import { DeadLetterPublisher, DLQ_HEADERS } from './dead-letter.publisher';

// The consumer runner and the DLQ publisher on a real Kafka broker.
describe('BatchConsumer and DeadLetterPublisher (real Kafka)', () => {
  let kafka: Kafka;
  let admin: Admin;
  const topic = `test.consumer.${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    const infra = await getTestInfra();
    kafka = createKafka({ clientId: 'consumer-test', ...infra.kafka });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}`, headers: { n: String(i) } })),
    });
    await producer.disconnect();
  });

  afterAll(async () => {
    await admin?.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin?.disconnect();
  });

  const consumer = (groupId: string, handler: ConstructorParameters<typeof BatchConsumer>[0]['handler']) =>
    new BatchConsumer({
      kafka,
      groupId,
      topics: [topic],
      name: 'test',
      handler,
      retry: { minTimeoutMs: 10, maxTimeoutMs: 50 },
    });

  it('retries a failing batch with backoff, hands the attempt number over, and commits only after success', async () => {
    const groupId = `g-${randomUUID()}`;
    const attempts: number[] = [];
    const seen = new Set<string>();
    let failuresLeft = 2;
    const retriedBefore = await counterValue('cqrs_retry_attempts_total');
    const c = consumer(groupId, async (records, { attempt }) => {
      attempts.push(attempt);
      if (records[0]?.partition === 0 && failuresLeft-- > 0)
        throw Object.assign(new Error('database unavailable'), { code: 'ECONNREFUSED' });
      for (const r of records) seen.add(`${r.partition}/${r.offset}`);
    });
    await c.start();
    await eventually(async () => expect(totalLag(await consumerGroupLag(admin, groupId, [topic]))).toBe(0));
    await c.stop();
    expect(seen.size).toBe(20);
    expect(attempts).toEqual(expect.arrayContaining([1, 2, 3]));
    expect((await counterValue('cqrs_retry_attempts_total')) - retriedBefore).toBe(2);
  });

  it('keeps its group membership through a batch longer than the session timeout: nothing redelivered, no rebalance', async () => {
    const groupId = `g-${randomUUID()}`;
    const handled: string[] = [];
    const joins: unknown[] = [];
    const logger = {
      info: (details: object, message: string) => message === 'partitions assigned' && joins.push(details),
      warn: () => undefined,
      error: () => undefined,
    };
    let slow = true;
    const c = new BatchConsumer({
      kafka,
      groupId,
      topics: [topic],
      name: 'test',
      logger,
      sessionTimeoutMs: 6_000, // the broker's minimum
      handler: async (records) => {
        if (slow) {
          slow = false;
          await new Promise((r) => setTimeout(r, 9_000)); // one and a half session timeouts
        }
        for (const r of records) handled.push(`${r.partition}/${r.offset}`);
      },
    });
    await c.start();
    await eventually(async () => expect(totalLag(await consumerGroupLag(admin, groupId, [topic]))).toBe(0));
    await c.stop();
    expect(handled).toHaveLength(20);
    expect(new Set(handled).size).toBe(20);
    expect(joins).toHaveLength(1);
  });

  it('leaves a batch uncommitted when stopped mid-batch, so the next member gets it again', async () => {
    const groupId = `g-${randomUUID()}`;
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const first = consumer(groupId, async () => {
      await blocked; // never applied: a crash before the effects were durable
      throw new Error('crashed');
    });
    await first.start();
    await new Promise((r) => setTimeout(r, 1500));
    const stopping = first.stop();
    release();
    await stopping;
    expect(totalLag(await consumerGroupLag(admin, groupId, [topic]))).toBe(20);

    const received: ConsumedRecord[] = [];
    const second = consumer(groupId, async (records) => void received.push(...records));
    await second.start();
    await eventually(async () => expect(received).toHaveLength(20));
    await eventually(async () => expect(totalLag(await consumerGroupLag(admin, groupId, [topic]))).toBe(0));
    await second.stop();
    expect(received.find((r) => r.headers['n'] === '7')).toMatchObject({
      topic,
      value: Buffer.from('v7'),
      key: Buffer.from('k2'),
    });
  });

  it('publishes dead letters to <topic>.dlq with the original key, value and headers plus the error headers', async () => {
    const dlq = new DeadLetterPublisher(kafka);
    await dlq.connect();
    await dlq.ensureTopics([topic]);
    const firstFailedAt = new Date('2026-01-01T00:00:00.000Z');
    await dlq.publish([
      {
        record: {
          topic,
          partition: 1,
          offset: '42',
          key: Buffer.from('task-1'),
          value: Buffer.from([0, 1, 2]),
          headers: { eventType: 'TaskStarted', aggregateVersion: '2' },
        },
        reason: 'UNKNOWN_SCHEMA',
        errorCode: 'UNKNOWN_SCHEMA_ID',
        errorMessage: 'unknown schema id 9',
        attempts: 1,
        firstFailedAt,
      },
    ]);
    await dlq.disconnect();
    const metadata = await admin.fetchTopicMetadata({ topics: [`${topic}.dlq`] });
    expect(metadata.topics[0]?.partitions).toHaveLength(2); // as many partitions as its source

    const letters: ConsumedRecord[] = [];
    const reader = new BatchConsumer({
      kafka,
      groupId: `g-${randomUUID()}`,
      topics: [`${topic}.dlq`],
      name: 'test',
      handler: async (r) => void letters.push(...r),
    });
    await reader.start();
    await eventually(async () => expect(letters).toHaveLength(1));
    await reader.stop();
    expect(letters[0]).toMatchObject({
      key: Buffer.from('task-1'),
      value: Buffer.from([0, 1, 2]),
      headers: {
        eventType: 'TaskStarted',
        aggregateVersion: '2',
        [DLQ_HEADERS.reason]: 'UNKNOWN_SCHEMA',
        [DLQ_HEADERS.errorCode]: 'UNKNOWN_SCHEMA_ID',
        [DLQ_HEADERS.errorMessage]: 'unknown schema id 9',
        [DLQ_HEADERS.sourceTopic]: topic,
        [DLQ_HEADERS.sourcePartition]: '1',
        [DLQ_HEADERS.sourceOffset]: '42',
        [DLQ_HEADERS.attempts]: '1',
        [DLQ_HEADERS.firstFailureAt]: firstFailedAt.toISOString(),
      },
    });
  });
});

async function counterValue(name: string): Promise<number> {
  const metric = metricsRegistry.getSingleMetric(name);
  return metric ? (await metric.get()).values.reduce((sum, v) => sum + v.value, 0) : 0;
}
