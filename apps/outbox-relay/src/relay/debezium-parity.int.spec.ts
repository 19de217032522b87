import { createKafka } from '@cqrs/messaging';
import {
  CONNECT_PRINCIPAL,
  getTestInfra,
  grantTopicPrefix,
  repoRoot,
  topicSettings,
  type TestInfra,
} from '@cqrs/testing';
import type { Admin } from 'kafkajs';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually, startInProcessRelay, type InProcessRelay } from '../testing/in-process-relay';
import { deleteTopics, readTopics, type ReadRecord } from '../testing/kafka-topic-reader';
import { createOutboxTestDb, fakeAvroPayload, type OutboxTestDb, type TestOutboxRow } from '../testing/outbox-test-db';

const run = promisify(execFile);

// The same outbox rows relayed once by outbox-relay and once by the real Debezium connector
// (connect/outbox-connector.json, registered by connect/register.mts on the stack's Connect
// worker), each to its own topic prefix: what a consumer sees must be the same.
describe('parity with the Debezium outbox connector', () => {
  const id = randomBytes(3).toString('hex');
  const relayPrefix = `parity-${id}-relay`;
  const debeziumPrefix = `parity-${id}-dbz`;
  const connector = `parity-${id}`;
  let infra: TestInfra;
  let db: OutboxTestDb;
  let relay: InProcessRelay | undefined;
  let admin: Admin;
  let revoke: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    infra = await getTestInfra();
    // The worker's identity may write only the system's topics: grant this connector's, as an operator would.
    admin = createKafka({ clientId: 'relay-parity', ...infra.kafka }).admin();
    await admin.connect();
    revoke = await grantTopicPrefix(admin, CONNECT_PRINCIPAL, `${debeziumPrefix}.`);
    db = await createOutboxTestDb(
      {
        adminUrl: infra.postgres.adminUrl,
        ownerWriteUrl: infra.postgres.ownerWriteUrl,
        relayUrl: infra.postgres.relayUrl,
      },
      'relay_parity',
    );
  });

  afterAll(async () => {
    await relay?.stop();
    await fetch(`${infra.connect.url}/connectors/${connector}`, { method: 'DELETE' }).catch(() => undefined);
    await db?.drop();
    await deleteTopics(infra.kafka.brokers, `parity-${id}-`);
    await revoke?.();
    await admin?.disconnect();
  });

  it('gives identical topic suffixes, keys, value bytes, headers, partitions and per-key order', async () => {
    // Both slots exist before the first row, so both see exactly the same transactions.
    await db.createSlot(`parity_${id}_relay`);
    await db.createSlot(`parity_${id}_dbz`);

    const rows: TestOutboxRow[][] = [];
    for (let tx = 0; tx < 12; tx++) {
      rows.push(
        [0, 1, 2].map((n) => ({
          aggregateType: tx % 3 === 0 ? 'billing.invoice' : 'tasks.task',
          aggregateId: `agg-${(tx * 3 + n) % 7}`,
          type: n % 2 ? 'TaskStarted' : 'TaskCreated',
          payload: fakeAvroPayload(n === 0 ? 2048 : 300),
          aggregateVersion: tx * 3 + n + 1,
          traceparent: n === 1 ? null : `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
          tracestate: n === 2 ? 'vendor=abc' : null,
          correlationId: tx % 4 === 0 ? null : `corr-${tx}`,
        })),
      );
    }
    for (const [tx, batch] of rows.entries()) await db.insert(batch, { deleteInSameTransaction: tx % 2 === 1 });
    const total = rows.flat().length;

    const node = existsSync(join(repoRoot(), 'node_modules/.bin/node'))
      ? join(repoRoot(), 'node_modules/.bin/node')
      : process.execPath;
    await run(node, [join(repoRoot(), 'connect/register.mts')], {
      env: {
        ...process.env,
        KAFKA_CONNECT_URL: infra.connect.url,
        DEBEZIUM_DATABASE_URL: db.relayUrl,
        DEBEZIUM_CONNECTOR_NAME: connector,
        DEBEZIUM_SLOT_NAME: `parity_${id}_dbz`,
        DEBEZIUM_TOPIC_PREFIX: debeziumPrefix,
        DEBEZIUM_TOPIC_REPLACEMENT: `${debeziumPrefix}.\${routedByValue}.events`,
      },
      timeout: 90_000,
    });
    relay = startInProcessRelay({
      databaseUrl: db.relayUrl,
      brokers: infra.kafka.brokers,
      slotName: `parity_${id}_relay`,
      topicReplacement: `${relayPrefix}.\${aggregatetype}.events`,
    });
    await eventually('the relay to hold its slot', () => relay!.relay.status().role === 'leader');

    const suffixes = ['tasks.task.events', 'billing.invoice.events'];
    const [fromRelay, fromDebezium] = await Promise.all([
      readTopics(
        infra.kafka.brokers,
        suffixes.map((s) => `${relayPrefix}.${s}`),
        total,
        { timeoutMs: 90_000, settleMs: 2000 },
      ),
      readTopics(
        infra.kafka.brokers,
        suffixes.map((s) => `${debeziumPrefix}.${s}`),
        total,
        { timeoutMs: 90_000, settleMs: 2000 },
      ),
    ]);

    // Per topic suffix and key, in partition order (the only order Kafka defines).
    const view = (records: ReadRecord[], topicPrefix: string) => {
      const perKey = new Map<string, object[]>();
      for (const r of [...records].sort((a, b) => Number(a.offset) - Number(b.offset))) {
        const stream = `${r.topic.slice(topicPrefix.length)} ${r.key}`;
        perKey.set(stream, [
          ...(perKey.get(stream) ?? []),
          { partition: r.partition, value: r.value?.toString('hex'), headers: r.headers },
        ]);
      }
      return Object.fromEntries([...perKey].sort(([a], [b]) => a.localeCompare(b)));
    };
    expect(fromRelay).toHaveLength(total);
    expect(fromDebezium).toHaveLength(total);
    expect(view(fromRelay, relayPrefix)).toEqual(view(fromDebezium, debeziumPrefix));
    // Both create the event topics alike: every event kept (their own retention.ms=-1, not the
    // broker's default), deleted by age only, never compacted (connect/'s `events` topic group).
    for (const topic of suffixes.flatMap((s) => [`${relayPrefix}.${s}`, `${debeziumPrefix}.${s}`])) {
      const settings = await topicSettings(admin, topic);
      expect([topic, settings]).toEqual([
        topic,
        {
          'retention.ms': { value: '-1', own: true },
          'retention.bytes': { value: '-1', own: true },
          'cleanup.policy': { value: 'delete', own: true },
        },
      ]);
    }
    // ...and both carry what was written, in each aggregate's commit order.
    const written = rows.flat();
    for (const r of fromRelay) {
      const sameStream = (topic: string, aggregateType: string) => topic === `${relayPrefix}.${aggregateType}.events`;
      const expected = written
        .filter((w) => w.aggregateId === r.key && sameStream(r.topic, w.aggregateType))
        .map((w) => String(w.aggregateVersion));
      const got = fromRelay
        .filter((x) => x.key === r.key && x.topic === r.topic)
        .sort((a, b) => Number(a.offset) - Number(b.offset))
        .map((x) => x.headers['aggregateVersion']);
      expect(got).toEqual(expected);
    }
  });
});
