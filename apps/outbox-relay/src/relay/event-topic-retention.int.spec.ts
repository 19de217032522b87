import { createKafka } from '@cqrs/messaging';
import { getTestInfra, topicSettings, type TestInfra } from '@cqrs/testing';
import type { Admin } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { loadOutboxRelayConfig } from '../config';
import { eventually, startInProcessRelay, type InProcessRelay } from '../testing/in-process-relay';
import { deleteTopics, readTopics } from '../testing/kafka-topic-reader';
import { createOutboxTestDb, fakeAvroPayload, type OutboxTestDb } from '../testing/outbox-test-db';

// The event topics are the history new consumers, replays and the reconciliation read: a topic
// the relay creates must keep it (docs/architecture.md, "Event topics keep their history"). Read
// back from the real broker, not from what the relay asked for.
describe('outbox relay: the event topics it creates keep their history', () => {
  const run = randomBytes(3).toString('hex');
  const prefix = `relay-retention-${run}`;
  let infra: TestInfra;
  let db: OutboxTestDb;
  let admin: Admin;
  let relay: InProcessRelay | undefined;

  beforeAll(async () => {
    infra = await getTestInfra();
    db = await createOutboxTestDb(
      {
        adminUrl: infra.postgres.adminUrl,
        ownerWriteUrl: infra.postgres.ownerWriteUrl,
        relayUrl: infra.postgres.relayUrl,
      },
      'relay_int',
    );
    admin = createKafka({ clientId: 'relay-retention-int', ...infra.kafka }).admin();
    await admin.connect();
  });

  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
  });

  afterAll(async () => {
    await admin?.disconnect();
    await db?.drop();
    await deleteTopics(infra.kafka.brokers, prefix);
  });

  it.each([
    ['with the default EVENT_TOPIC_RETENTION_MS: every event, forever', 'default', {}, '-1'],
    [
      'with a bounded EVENT_TOPIC_RETENTION_MS: that long, by time only',
      'bounded',
      { EVENT_TOPIC_RETENTION_MS: '86400000' },
      '86400000',
    ],
  ])('creates a missing topic %s', async (_name, label, env: Record<string, string>, retention) => {
    const config = loadOutboxRelayConfig(env);
    const topicPrefix = `${prefix}-${label}`;
    const topic = `${topicPrefix}.tasks.task.events`;
    const started = (relay = startInProcessRelay({
      databaseUrl: db.relayUrl,
      brokers: infra.kafka.brokers,
      slotName: `relay_retention_${run}_${label}`,
      topicReplacement: `${topicPrefix}.\${aggregatetype}.events`,
      topicRetentionMs: config.EVENT_TOPIC_RETENTION_MS,
    }));
    await eventually('the relay to hold the slot', () => started.relay.status().role === 'leader');
    expect(await admin.listTopics()).not.toContain(topic);

    await db.insert([
      { aggregateType: 'tasks.task', aggregateId: `task-${label}`, payload: fakeAvroPayload(300), aggregateVersion: 1 },
    ]);
    const records = await readTopics(infra.kafka.brokers, [topic], 1);
    expect(records.map((r) => r.key)).toEqual([`task-${label}`]);
    expect(started.logs).toContain(`info: created topic ${topic}`);

    // Set on the topic itself (not the broker's 7-day default), and deleted by age, never compacted.
    expect(await topicSettings(admin, topic)).toEqual({
      'retention.ms': { value: retention, own: true },
      'retention.bytes': { value: '-1', own: true },
      'cleanup.policy': { value: 'delete', own: true },
    });
  });

  it('leaves a topic that exists as it is', async () => {
    const topicPrefix = `${prefix}-existing`;
    const topic = `${topicPrefix}.tasks.task.events`;
    await admin.createTopics({
      topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '7200000' }] }],
      waitForLeaders: true,
    });
    const started = (relay = startInProcessRelay({
      databaseUrl: db.relayUrl,
      brokers: infra.kafka.brokers,
      slotName: `relay_retention_${run}_existing`,
      topicReplacement: `${topicPrefix}.\${aggregatetype}.events`,
    }));
    await eventually('the relay to hold the slot', () => started.relay.status().role === 'leader');
    await db.insert([
      { aggregateType: 'tasks.task', aggregateId: 'task-existing', payload: fakeAvroPayload(300), aggregateVersion: 1 },
    ]);
    await readTopics(infra.kafka.brokers, [topic], 1);
    expect((await topicSettings(admin, topic))['retention.ms']).toEqual({ value: '7200000', own: true });
  });
});
