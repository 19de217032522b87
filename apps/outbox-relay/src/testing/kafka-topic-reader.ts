import { randomBytes } from 'node:crypto';
// The clients take the test infrastructure's TLS and SASL from process.env (getTestInfra sets it).
import { createKafka } from '@cqrs/messaging/kafka';

/** A record as a consumer sees it. */
export interface ReadRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  /** Header values as text; null for a header sent with a null value. */
  headers: Record<string, string | null>;
  timestamp: number;
}

/**
 * Reads `topics` from the beginning until `expected` records arrived (or `timeoutMs` passed, then
 * returns what it has), then keeps reading `settleMs` more so unexpected extra records show up.
 * Never creates a topic: it waits for the producer to have made it.
 */
export async function readTopics(
  brokers: string[],
  topics: string[],
  expected: number,
  options: { timeoutMs?: number; settleMs?: number } = {},
): Promise<ReadRecord[]> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const kafka = createKafka({ clientId: 'relay-test-reader', brokers });
  const consumer = kafka.consumer({
    groupId: `relay-test-${randomBytes(6).toString('hex')}`,
    allowAutoTopicCreation: false,
    maxBytes: 50 << 20,
  });
  const records: ReadRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  await consumer.connect();
  try {
    for (;;) {
      try {
        await consumer.subscribe({ topics, fromBeginning: true });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          records.push({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key === null ? null : m.key.toString('utf8'),
            value: m.value,
            headers: Object.fromEntries(
              Object.entries(m.headers ?? {}).map(([k, v]) => [k, v === null || v === undefined ? null : String(v)]),
            ),
            timestamp: Number(m.timestamp),
          });
        }
        if (records.length >= expected) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([finished, new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
    clearTimeout(timer);
    if (options.settleMs) await new Promise((r) => setTimeout(r, options.settleMs));
    return records;
  } finally {
    await consumer.disconnect();
  }
}

/** Deletes test topics (best effort: a topic that is not there is fine). */
export async function deleteTopics(brokers: string[], prefix: string): Promise<void> {
  const admin = createKafka({ clientId: 'relay-test-cleanup', brokers }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
