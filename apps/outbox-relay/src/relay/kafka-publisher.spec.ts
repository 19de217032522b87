import type { Kafka, Producer, ProducerBatch } from 'kafkajs';
import { KafkaPublisher, type PartitionedRecord } from './kafka-publisher';

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
          state.sent.push(batch.topicMessages!.flatMap((t) => t.messages.map((m) => ({ partition: m.partition!, key: String(m.key) }))));
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
  new KafkaPublisher({ brokers: [], clientId: 'test', topicAutoCreate: false, topicPartitions: 6, topicReplicationFactor: -1, producers, logger }, kafka);

const batchOf = (partitions: number[]): PartitionedRecord[] =>
  partitions.map((partition, i) => ({ partition, record: { topic: 't', key: `k${i}`, value: Buffer.from([i]), headers: { id: `e${i}` }, timestampMs: null } }));

describe('KafkaPublisher', () => {
  it('writes each partition through one producer (partition mod producers), in batch order', async () => {
    const { kafka, producers } = fakeKafka();
    await publisher(kafka).send(batchOf([0, 1, 2, 3, 0, 5, 4]));
    expect(producers).toHaveLength(2);
    expect(producers[0]!.sent).toEqual([
      [
        { partition: 0, key: 'k0' },
        { partition: 2, key: 'k2' },
        { partition: 0, key: 'k4' },
        { partition: 4, key: 'k6' },
      ],
    ]);
    expect(producers[1]!.sent).toEqual([
      [
        { partition: 1, key: 'k1' },
        { partition: 3, key: 'k3' },
        { partition: 5, key: 'k5' },
      ],
    ]);
  });

  it('fails the batch when one producer fails, and a retry writes only the part not yet acknowledged', async () => {
    const { kafka, producers } = fakeKafka();
    const relay = publisher(kafka);
    await relay.send(batchOf([0, 1])); // connects both producers
    producers[1]!.failNext = true;
    const batch = batchOf([0, 1, 2, 3]);
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
    await relay.send(batchOf([0, 1]));
    expect(producers.map((p) => p.sent.length)).toEqual([3, 3]);
  });

  it('with one producer, writes the whole batch in one request', async () => {
    const { kafka, producers } = fakeKafka();
    await publisher(kafka, 1).send(batchOf([0, 1, 2]));
    expect(producers).toHaveLength(1);
    expect(producers[0]!.sent[0]!.map((m) => m.partition)).toEqual([0, 1, 2]);
  });

  it('restarts every producer when asked', async () => {
    const { kafka, producers } = fakeKafka();
    const relay = publisher(kafka);
    await relay.send(batchOf([0, 1]));
    await relay.resetProducer('5 failed attempts in a row');
    expect(producers.map((p) => p.disconnected)).toEqual([true, true]);
    await relay.send(batchOf([0, 1]));
    expect(producers).toHaveLength(4);
  });
});
