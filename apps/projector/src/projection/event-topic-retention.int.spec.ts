import { AvroSerde, createSchemaRegistry } from '@cqrs/messaging';
import { createKafka, DeadLetterPublisher } from '@cqrs/messaging/consumer';
import { tasksTaskEventsContracts } from '@cqrs/tasks-contracts';
import { createReadModelTestDatabase, type ReadModelTestDatabase } from '@cqrs/tasks-read-model/testing';
import { eventually, getTestInfra, topicSettings } from '@cqrs/testing';
import type { Admin, Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { loadProjectorConfig, projectionSettings } from '../config';
import { ProjectionRunner } from './projection-runner';
import { TaskRecordDecoder } from './task-record.decoder';

// A projector that comes up before any event (PROJECTOR_TOPIC_AUTOCREATE, the default) creates the
// topic it projects. It must keep the history as the relay's would (docs/architecture.md, "Event
// topics keep their history"); its dead-letter topic keeps the broker's bounded default. Read back
// from the real broker.
describe('projector: the topics it creates', () => {
  const run = randomUUID().slice(0, 8);
  const topic = `test.retention.${run}.events`;
  let db: ReadModelTestDatabase;
  let pool: Pool;
  let kafka: Kafka;
  let admin: Admin;
  let dlq: DeadLetterPublisher;
  let runner: ProjectionRunner;

  beforeAll(async () => {
    const infra = await getTestInfra();
    db = await createReadModelTestDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerReadUrl,
      projectorUrl: infra.postgres.readUrl,
      queryUrl: infra.postgres.queryUrl,
      prefix: 'proj_test',
    });
    pool = new Pool({ connectionString: db.projectorUrl, max: 2 });
    kafka = createKafka({ clientId: 'projector-retention-test', ...infra.kafka });
    admin = kafka.admin();
    await admin.connect();
    dlq = new DeadLetterPublisher(kafka);
    const decoder = new TaskRecordDecoder(
      new AvroSerde({ registry: createSchemaRegistry(infra.schemaRegistry), contracts: tasksTaskEventsContracts }),
    );
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    // The app's own settings (its defaults), on this test's topic and consumer groups.
    const settings = projectionSettings(
      loadProjectorConfig({ PROJECTOR_TOPICS: topic, PROJECTOR_GROUP_PREFIX: `test-retention-${run}` }),
    );
    expect(settings.createTopicsWithPartitions).toBeDefined();
    runner = new ProjectionRunner({ pool, kafka, decoder, dlq, logger }, settings, 200);
  });

  afterAll(async () => {
    await runner?.stop();
    await dlq?.disconnect();
    await admin?.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin?.disconnect();
    await pool?.end();
    await db?.drop();
  });

  it("creates a missing event topic that keeps every event, and its dead-letter topic with the broker's bounded default", async () => {
    expect(await admin.listTopics()).not.toContain(topic);
    runner.start();
    await eventually(async () => expect(runner.status().running).toBe(true), 60_000);

    // Set on the topic itself (not the broker's 7-day default), and deleted by age, never compacted.
    expect(await topicSettings(admin, topic)).toEqual({
      'retention.ms': { value: '-1', own: true },
      'retention.bytes': { value: '-1', own: true },
      'cleanup.policy': { value: 'delete', own: true },
    });
    const letters = await topicSettings(admin, `${topic}.dlq`);
    expect(letters['retention.ms']?.own).toBe(false);
    expect(Number(letters['retention.ms']?.value)).toBeGreaterThan(0);
  });
});
