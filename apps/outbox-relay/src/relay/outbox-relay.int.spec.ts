import { createKafka } from '@cqrs/messaging';
import { getTestInfra, type TestInfra } from '@cqrs/testing';
import { randomBytes } from 'node:crypto';
import { eventually, startInProcessRelay, type InProcessRelay } from '../testing/in-process-relay';
import { deleteTopics, readTopics } from '../testing/kafka-topic-reader';
import { createOutboxTestDb, fakeAvroPayload, type OutboxTestDb } from '../testing/outbox-test-db';
import { parseLsn } from './lsn';
import { partitionForKey } from './partitioner';

// The relay against the real Postgres (logical replication) and Kafka of the test stack.
describe('outbox relay (real Postgres and Kafka)', () => {
  const run = randomBytes(3).toString('hex');
  const prefix = `relay-int-${run}`;
  let infra: TestInfra;
  let db: OutboxTestDb;
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
  });

  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
  });

  afterAll(async () => {
    await db?.drop();
    await deleteTopics(infra.kafka.brokers, prefix);
  });

  const slotOf = async (slot: string) =>
    (
      await db.query<{ confirmed: string; active: boolean }>(
        'SELECT confirmed_flush_lsn::text AS confirmed, active FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      )
    )[0];
  const currentLsn = async () =>
    parseLsn((await db.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn);

  it.each([
    ['binary', true],
    ['text', false],
  ])(
    'publishes committed outbox inserts as the EventRouter would, and nothing else (%s tuples)',
    async (mode, binaryTuples) => {
      const slot = `relay_int_${run}_a_${mode}`;
      const topicPrefix = `${prefix}-a-${mode}`;
      relay = startInProcessRelay({
        databaseUrl: db.relayUrl,
        brokers: infra.kafka.brokers,
        slotName: slot,
        topicReplacement: `${topicPrefix}.\${aggregatetype}.events`,
        overrides: { binaryTuples },
      });
      await eventually('the relay to hold the slot', () => relay!.relay.status().role === 'leader');

      const big = fakeAvroPayload(2048);
      const small = fakeAvroPayload(300);
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const [first] = await db.insert([
        {
          aggregateType: 'tasks.task',
          aggregateId: 'task-1',
          payload: big,
          aggregateVersion: 1,
          traceparent,
          tracestate: 'congo=t61rcWkgMzE',
          correlationId: 'corr-1',
        },
        {
          aggregateType: 'tasks.task',
          aggregateId: 'task-2',
          payload: small,
          aggregateVersion: 1,
          type: 'TaskStarted',
        },
      ]);
      // Deleted before commit: the WAL still carries the inserts, so they are published.
      await db.insert([{ aggregateType: 'tasks.task', aggregateId: 'task-1', payload: small, aggregateVersion: 2 }], {
        deleteInSameTransaction: true,
      });
      // Rolled back: never committed, never published.
      await db.insert([{ aggregateType: 'tasks.task', aggregateId: 'task-9', payload: small, aggregateVersion: 1 }], {
        rollback: true,
      });
      await db.insert([
        { aggregateType: 'billing.invoice', aggregateId: 'inv-1', payload: small, aggregateVersion: 1 },
      ]);

      const records = await readTopics(
        infra.kafka.brokers,
        [`${topicPrefix}.tasks.task.events`, `${topicPrefix}.billing.invoice.events`],
        4,
        { settleMs: 1500 },
      );
      expect(records).toHaveLength(4);
      const task1 = records.filter((r) => r.key === 'task-1');
      expect(task1.map((r) => r.headers['aggregateVersion'])).toEqual(['1', '2']);
      expect(task1[0]).toMatchObject({
        topic: `${topicPrefix}.tasks.task.events`,
        partition: partitionForKey(Buffer.from('task-1'), 6),
        headers: {
          id: first,
          eventType: 'TaskCreated',
          aggregateVersion: '1',
          traceparent,
          tracestate: 'congo=t61rcWkgMzE',
          correlationId: 'corr-1',
        },
      });
      expect(task1[0]!.value!.equals(big)).toBe(true);
      expect(task1[1]!.value!.equals(small)).toBe(true);
      // A null column is a header with a null value, as Debezium sends it.
      const task2 = records.find((r) => r.key === 'task-2')!;
      expect(task2.headers).toEqual({
        id: expect.any(String),
        eventType: 'TaskStarted',
        aggregateVersion: '1',
        traceparent: null,
        tracestate: null,
        correlationId: null,
      });
      expect(records.find((r) => r.key === 'inv-1')?.topic).toBe(`${topicPrefix}.billing.invoice.events`);
      expect(records.some((r) => r.key === 'task-9')).toBe(false);
      // The record timestamp is the outbox row's timestamp.
      const [{ ts }] = (await db.query<{ ts: string }>(
        'SELECT floor(extract(epoch FROM "timestamp") * 1000)::bigint::text AS ts FROM outbox WHERE id = $1',
        [first],
      )) as [{ ts: string }];
      expect(task1[0]!.timestamp).toBe(Number(ts));
    },
  );

  it('confirms the slot behind Kafka and keeps an idle slot from pinning WAL', async () => {
    const slot = `relay_int_${run}_b`;
    relay = startInProcessRelay({
      databaseUrl: db.relayUrl,
      brokers: infra.kafka.brokers,
      slotName: slot,
      topicReplacement: `${prefix}-b.\${aggregatetype}.events`,
    });
    await eventually('the relay to hold the slot', () => relay!.relay.status().role === 'leader');
    await db.insert([
      { aggregateType: 'tasks.task', aggregateId: 'task-1', payload: fakeAvroPayload(300), aggregateVersion: 1 },
    ]);
    const afterInsert = await currentLsn();
    await readTopics(infra.kafka.brokers, [`${prefix}-b.tasks.task.events`], 1);
    await eventually(
      'the insert to be confirmed',
      async () => parseLsn((await slotOf(slot))!.confirmed) >= afterInsert,
    );

    // WAL from elsewhere (another table, no outbox rows): the idle relay must let the slot move on.
    await db.query('CREATE TABLE IF NOT EXISTS wal_filler (n int)');
    await db.query('INSERT INTO wal_filler SELECT generate_series(1, 5000)');
    const afterFiller = await currentLsn();
    await eventually(
      'the idle slot to advance past unrelated WAL',
      async () => parseLsn((await slotOf(slot))!.confirmed) >= afterFiller,
      20_000,
    );
    const lag = relay.relay.status().slotLagBytes;
    expect(lag).not.toBeNull();
  });

  it('holds back, and says why, while a topic is missing and may not be created; resumes once it exists', async () => {
    const slot = `relay_int_${run}_c`;
    const topic = `${prefix}-c.tasks.task.events`;
    relay = startInProcessRelay({
      databaseUrl: db.relayUrl,
      brokers: infra.kafka.brokers,
      slotName: slot,
      topicReplacement: `${prefix}-c.\${aggregatetype}.events`,
      topicAutoCreate: false,
    });
    await eventually('the relay to hold the slot', () => relay!.relay.status().role === 'leader');
    // The idle relay may confirm keepalive positions of other databases' WAL until the row comes,
    // so the bound is where the WAL ended before the insert, not what the slot said earlier.
    const beforeInsert = await currentLsn();
    await db.insert([
      { aggregateType: 'tasks.task', aggregateId: 'task-1', payload: fakeAvroPayload(300), aggregateVersion: 1 },
    ]);

    const error = await eventually('the producer error', () => relay!.relay.status().producerError);
    expect(error).toBe(
      `topic ${topic} does not exist and OUTBOX_TOPIC_AUTOCREATE=false: create it (with the partitions you want) or enable auto-creation`,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(parseLsn((await slotOf(slot))!.confirmed)).toBeLessThanOrEqual(beforeInsert); // nothing confirmed past the stuck row

    const admin = createKafka({ clientId: 'relay-int', ...infra.kafka }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const records = await readTopics(infra.kafka.brokers, [topic], 1, { timeoutMs: 30_000 });
    expect(records.map((r) => r.key)).toEqual(['task-1']);
    await eventually('the producer error to clear', () => relay!.relay.status().producerError === null);
  });

  it('reports a missing publication by name instead of streaming', async () => {
    relay = startInProcessRelay({
      databaseUrl: db.relayUrl,
      brokers: infra.kafka.brokers,
      slotName: `relay_int_${run}_d`,
      topicReplacement: `${prefix}-d.\${aggregatetype}.events`,
      publication: 'no_such_publication',
    });
    const error = await eventually('the replication error', () => relay!.relay.status().replicationError);
    expect(error).toContain(`publication no_such_publication does not exist in database ${db.name}`);
    expect(relay.relay.status().role).not.toBe('leader');
  });
});
