import { createKafka } from '@cqrs/messaging';
import { getTestInfra, kafkaCredentials, type AppProcess, type TestInfra } from '@cqrs/testing';
import { randomBytes } from 'node:crypto';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, type Admin } from 'kafkajs';
import { eventually } from '../src/testing/in-process-relay';
import { deleteTopics, readTopics } from '../src/testing/kafka-topic-reader';
import { createOutboxTestDb, fakeAvroPayload, type OutboxTestDb } from '../src/testing/outbox-test-db';
import { publishedBy, startRelayProcess } from '../src/testing/relay-process';

// The relay as production runs it on a secured cluster: its own SCRAM identity (cqrs-relay), whose
// ACLs allow writing the event topics and nothing else. A topic its ACLs do not cover is refused by
// the broker; the relay says so, holds the event in its slot, and delivers it once an operator
// grants the ACL — without a restart, and without losing or duplicating it.
describe('outbox-relay as cqrs-relay against the broker ACLs', () => {
  const id = randomBytes(3).toString('hex');
  const topicPrefix = `acl-${id}`;
  const topic = `${topicPrefix}.tasks.task.events`;
  const grant = {
    resourceType: AclResourceTypes.TOPIC,
    resourceName: topic,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: 'User:cqrs-relay',
    host: '*',
    operation: AclOperationTypes.WRITE,
    permissionType: AclPermissionTypes.ALLOW,
  };
  let infra: TestInfra;
  let db: OutboxTestDb;
  let admin: Admin;
  let relay: AppProcess | undefined;

  beforeAll(async () => {
    infra = await getTestInfra();
    if (infra.kafka.security.protocol !== 'SASL_SSL' || !process.env['CQRS_STACK_SECRETS']) {
      throw new Error(
        'this test needs the secured stack (SASL_SSL with per-app identities): run it with `npm test` on the native stack',
      );
    }
    db = await createOutboxTestDb(
      {
        adminUrl: infra.postgres.adminUrl,
        ownerWriteUrl: infra.postgres.ownerWriteUrl,
        relayUrl: infra.postgres.relayUrl,
      },
      'relay_acl',
    );
    admin = createKafka({ clientId: 'relay-acl-e2e', ...infra.kafka }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  });

  afterAll(async () => {
    await relay?.stop();
    await admin?.deleteAcls({ filters: [grant] }).catch(() => undefined);
    await admin?.disconnect();
    await db?.drop();
    await deleteTopics(infra.kafka.brokers, topicPrefix);
  });

  it('is refused a topic without an ACL, says so, and delivers the held event exactly once when the ACL is granted', async () => {
    // The slot exists before the row, so the relay's stream holds it whenever the relay gets going.
    await db.createSlot(`acl_${id}`);
    relay = await startRelayProcess({
      ...kafkaCredentials('cqrs-relay'),
      DATABASE_URL: db.relayUrl,
      KAFKA_BROKERS: infra.kafka.brokers.join(','),
      OUTBOX_SLOT_NAME: `acl_${id}`,
      OUTBOX_TOPIC_REPLACEMENT: `${topicPrefix}.\${aggregatetype}.events`,
      OUTBOX_RETRY_MAX_MS: '1000',
      LOG_LEVEL: 'info',
    });
    const app = relay;
    const [rowId] = await db.insert([
      { aggregateType: 'tasks.task', aggregateId: `t-${id}`, aggregateVersion: 1, payload: fakeAvroPayload(64) },
    ]);

    // The broker refuses: the relay's log names the topic and the grant it needs.
    const refusal = `not authorized to describe or create topic ${topic}: grant the relay's Kafka identity Describe and Write on it (an ACL)`;
    await eventually('the relay to report the refusal', () => app.output().includes(refusal), 60_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}; the relay wrote:\n${app.output().slice(-4000)}`);
      },
    );
    expect(await publishedBy(app)).toBe(0);
    const slot = async () =>
      (
        await db.query<{ held: boolean }>(
          `SELECT confirmed_flush_lsn < pg_current_wal_lsn() AS held FROM pg_replication_slots WHERE slot_name = $1`,
          [`acl_${id}`],
        )
      )[0]?.held;
    expect(await slot()).toBe(true); // not confirmed: the event stays in the slot

    // The operator grants the ACL; the relay's next retry goes through.
    await admin.createAcls({ acl: [grant] });
    await eventually('the held event to be published', async () => (await publishedBy(app)) === 1, 60_000);
    const records = await readTopics(infra.kafka.brokers, [topic], 1, { timeoutMs: 30_000, settleMs: 1500 });
    expect(records.map((r) => r.headers['id'])).toEqual([rowId]);
  });
});
