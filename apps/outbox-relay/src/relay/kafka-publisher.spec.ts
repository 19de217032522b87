import { useInMemoryTracing } from '@cqrs/testing';
import { SpanKind } from '@opentelemetry/api';
import type { Kafka, Producer, ProducerBatch } from 'kafkajs';
import { KafkaPublisher, SPLIT_BATCHES_FROM, type PartitionedRecord } from './kafka-publisher';

// The publish spans against a real SDK (W3C propagation), ended spans kept in memory.
const exporter = useInMemoryTracing();

/** Producers that record what they were asked to write, and fail a write when told to. */
function fakeKafka() {
  const producers: { sent: { partition: number; key: string }[][]; failNext: boolean; disconnected: boolean }[] = [];
  const kafka = {
    producer: () => {
      const state = { sent: [] as { partition: number; key: string }[][], failNext: false, disconnected: false };
      producers.push(state);
      return {
        connect: async () => undefined,
        disconnect: async () => void (state.disconnected = true),
        sendBatch: async (batch: ProducerBatch) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (state.failNext) {
            state.failNext = false;
            throw new Error('broker not available');
          }
          state.sent.push(
            batch.topicMessages!.flatMap((t) =>
              t.messages.map((m) => ({ partition: m.partition!, key: String(m.key) })),
            ),
          );
          return [];
        },
      } as unknown as Producer;
    },
    admin: () => {
      throw new Error('not used');
    },
  } as unknown as Pick<Kafka, 'producer' | 'admin'>;
  return { kafka, producers };
}

const logger = { debug: () => undefined, log: () => undefined, warn: () => undefined, error: () => undefined };
const publisher = (kafka: Pick<Kafka, 'producer' | 'admin'>, producers = 2) =>
  new KafkaPublisher(
    {
      brokers: [],
      clientId: 'test',
      topicAutoCreate: false,
      topicPartitions: 6,
      topicReplicationFactor: -1,
      producers,
      logger,
    },
    kafka,
  );

const batchOf = (partitions: number[], traceparents: (string | null)[] = []): PartitionedRecord[] =>
  partitions.map((partition, i) => ({
    partition,
    record: {
      topic: 't',
      key: `k${i}`,
      value: Buffer.from([i]),
      headers: { id: `e${i}`, eventType: 'TaskCreated', traceparent: traceparents[i] ?? null },
      timestampMs: null,
    },
  }));
/** `partitions`, then records on partition 0 up to the size from which batches are split across producers. */
const largeBatchOf = (partitions: number[], traceparents: (string | null)[] = []) =>
  batchOf([...partitions, ...Array<number>(SPLIT_BATCHES_FROM - partitions.length).fill(0)], traceparents);
const TRACES = [
  { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' },
  { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' },
];
const traceparent = (t: { traceId: string; spanId: string }) => `00-${t.traceId}-${t.spanId}-01`;

describe('KafkaPublisher', () => {
  // The padding records of largeBatchOf are on partition 0 (producer 0), after the listed ones.
  const listed = (sent: { partition: number; key: string }[], count: number) =>
    sent.filter((m) => Number(m.key.slice(1)) < count);

  it('splits a large batch by partition (partition mod producers), each part in batch order', async () => {
    const { kafka, producers } = fakeKafka();
    await publisher(kafka).send(largeBatchOf([0, 1, 2, 3, 0, 5, 4]));
    expect(producers).toHaveLength(2);
    expect(producers[0]!.sent).toHaveLength(1);
    expect(listed(producers[0]!.sent[0]!, 7)).toEqual([
      { partition: 0, key: 'k0' },
      { partition: 2, key: 'k2' },
      { partition: 0, key: 'k4' },
      { partition: 4, key: 'k6' },
    ]);
    expect(producers[0]!.sent[0]).toHaveLength(SPLIT_BATCHES_FROM - 3);
    expect(producers[1]!.sent).toEqual([
      [
        { partition: 1, key: 'k1' },
        { partition: 3, key: 'k3' },
        { partition: 5, key: 'k5' },
      ],
    ]);
  });

  it('sends a small batch (light traffic) as one request, through the first producer', async () => {
    const { kafka, producers } = fakeKafka();
    await publisher(kafka).send(batchOf([0, 1, 2, 3]));
    expect(producers).toHaveLength(1);
    expect(producers[0]!.sent.map((request) => request.map((m) => m.partition))).toEqual([[0, 1, 2, 3]]);
  });

  it('fails the batch when one producer fails, and a retry writes only the part not yet acknowledged', async () => {
    const { kafka, producers } = fakeKafka();
    const relay = publisher(kafka);
    await relay.send(largeBatchOf([0, 1])); // connects both producers
    producers[1]!.failNext = true;
    const batch = largeBatchOf([0, 1, 2, 3]);
    await expect(relay.send(batch)).rejects.toThrow('broker not available');
    expect(producers[0]!.sent).toHaveLength(2); // its part went through
    expect(producers[1]!.sent).toHaveLength(1); // only the first batch
    await relay.send(batch);
    expect(producers[0]!.sent).toHaveLength(2); // not written twice
    expect(producers[1]!.sent.at(-1)).toEqual([
      { partition: 1, key: 'k1' },
      { partition: 3, key: 'k3' },
    ]);
    // A new batch goes to both again.
    await relay.send(largeBatchOf([0, 1]));
    expect(producers.map((p) => p.sent.length)).toEqual([3, 3]);
  });

  it('with one producer, writes even a large batch in one request', async () => {
    const { kafka, producers } = fakeKafka();
    await publisher(kafka, 1).send(largeBatchOf([0, 1, 2]));
    expect(producers).toHaveLength(1);
    expect(listed(producers[0]!.sent[0]!, 3).map((m) => m.partition)).toEqual([0, 1, 2]);
    expect(producers[0]!.sent[0]).toHaveLength(SPLIT_BATCHES_FROM);
  });

  it('restarts every producer when asked', async () => {
    const { kafka, producers } = fakeKafka();
    const relay = publisher(kafka);
    await relay.send(largeBatchOf([0, 1]));
    await relay.resetProducer('5 failed attempts in a row');
    expect(producers.map((p) => p.disconnected)).toEqual([true, true]);
    await relay.send(largeBatchOf([0, 1]));
    expect(producers).toHaveLength(4);
  });

  describe('outbox.publish spans', () => {
    it('a request with one traced record: a child of the context its row stored, with the record', async () => {
      const { kafka } = fakeKafka();
      await publisher(kafka, 1).send(batchOf([3, 4], [traceparent(TRACES[0]!), null]));
      const spans = exporter.getFinishedSpans();
      expect(spans).toHaveLength(1);
      expect(spans[0]!.spanContext().traceId).toBe(TRACES[0]!.traceId);
      expect(spans[0]!.parentSpanContext?.spanId).toBe(TRACES[0]!.spanId);
      expect(spans[0]!.kind).toBe(SpanKind.PRODUCER);
      expect(spans[0]!.attributes).toMatchObject({
        'messaging.destination.name': 't',
        'messaging.destination.partition.id': '3',
        'messaging.kafka.message.key': 'k0',
        'messaging.message.id': 'e0',
        'cqrs.event.type': 'TaskCreated',
        'messaging.batch.message_count': 2,
      });
    });

    it('a request with several: one root span linked to each record context', async () => {
      const { kafka } = fakeKafka();
      await publisher(kafka, 1).send(batchOf([0, 1, 2], [traceparent(TRACES[0]!), traceparent(TRACES[1]!), null]));
      const spans = exporter.getFinishedSpans();
      expect(spans).toHaveLength(1);
      expect(spans[0]!.parentSpanContext).toBeUndefined();
      expect(TRACES.map((t) => t.traceId)).not.toContain(spans[0]!.spanContext().traceId);
      expect(spans[0]!.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual(
        TRACES.map((t) => [t.traceId, t.spanId]),
      );
      expect(spans[0]!.attributes).toEqual({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': 't',
        'messaging.batch.message_count': 3,
      });
    });

    it('one span per producer request, failed ones marked; untraced records get none', async () => {
      const { kafka, producers } = fakeKafka();
      const relay = publisher(kafka);
      await relay.send(largeBatchOf([0, 1]));
      expect(exporter.getFinishedSpans()).toEqual([]);
      producers[1]!.failNext = true;
      await expect(
        relay.send(largeBatchOf([0, 1], [traceparent(TRACES[0]!), traceparent(TRACES[1]!)])),
      ).rejects.toThrow();
      const spans = exporter.getFinishedSpans();
      expect(spans.map((s) => [s.spanContext().traceId, s.status.code])).toEqual(
        expect.arrayContaining([
          [TRACES[0]!.traceId, 0],
          [TRACES[1]!.traceId, 2],
        ]),
      );
    });
  });
});
