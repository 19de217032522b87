import { AvroSerde, createSchemaRegistry } from '@cqrs/messaging';
import { createKafka, DeadLetterPublisher, totalLag } from '@cqrs/messaging/consumer';
import { tasksTaskEventsContracts } from '@cqrs/tasks-contracts';
import { TaskReadRepository } from '@cqrs/tasks-read-model';
import { createReadModelTestDatabase, type ReadModelTestDatabase } from '@cqrs/tasks-read-model/testing';
import { eventually, getTestInfra, type TestInfra } from '@cqrs/testing';
import type { Admin, Kafka } from 'kafkajs';
import { Pool } from 'pg';
import { TaskTopic } from '../../e2e/support/task-topic';
import { ProjectionRunner, type ProjectionSettings } from '../projection/projection-runner';
import { ProjectorOperations } from '../projection/projector-operations';
import { TaskRecordDecoder } from '../projection/task-record.decoder';

/** What an in-process projector test needs: its own read database, topic and consumer groups. */
export interface ProjectorFixture {
  infra: TestInfra;
  db: ReadModelTestDatabase;
  /** The projector's role (DML on the read database). */
  pool: Pool;
  /** The read database's owner (DDL: generations). */
  ownerPool: Pool;
  /** The query service's role (SELECT only). */
  queryPool: Pool;
  reader: TaskReadRepository;
  kafka: Kafka;
  /** A connected admin client, the one the operations use. */
  admin: Admin;
  topic: TaskTopic;
  dlq: DeadLetterPublisher;
  settings: ProjectionSettings;
  deps: ConstructorParameters<typeof ProjectionRunner>[0];
  runner: ProjectionRunner;
  operations: ProjectorOperations;
  /** Resolves once the projector ({@link runner}) runs and has committed everything on its topics. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Stops the projector and drops everything the fixture created. */
  close(): Promise<void>;
}

export interface ProjectorFixtureOptions {
  /** Names the topic (`test.<name>.<run>.events`) and the consumer groups. */
  name: string;
  /** The read database's name prefix: one of @cqrs/testing's TEST_DATABASE_PREFIXES, so leftovers are cleaned. */
  dbPrefix: string;
  run: string;
  partitions: number;
  /** Overrides of the projection settings (concurrency, gap retries…). */
  settings?: Partial<ProjectionSettings>;
  poolSize?: number;
  /** Runs before the projector starts, e.g. to create a `.dlq` reader. */
  beforeStart?: (fixture: Omit<ProjectorFixture, 'caughtUp' | 'close'>) => Promise<void>;
}

/**
 * A projector running in-process against the real Kafka, registry and PostgreSQL of the test
 * run, with the roles production uses, on a fresh read database and topic.
 */
export async function startProjectorFixture(options: ProjectorFixtureOptions): Promise<ProjectorFixture> {
  const infra = await getTestInfra();
  const db = await createReadModelTestDatabase({
    adminUrl: infra.postgres.adminUrl,
    ownerUrl: infra.postgres.ownerReadUrl,
    projectorUrl: infra.postgres.readUrl,
    queryUrl: infra.postgres.queryUrl,
    prefix: options.dbPrefix,
  });
  const pool = new Pool({ connectionString: db.projectorUrl, max: options.poolSize ?? 6 });
  const ownerPool = new Pool({ connectionString: db.ownerUrl, max: 2 });
  const queryPool = new Pool({ connectionString: db.queryUrl, max: 2 });
  const topic = await TaskTopic.create(
    infra.kafka.brokers,
    infra.schemaRegistry,
    `test.${options.name}.${options.run}.events`,
    options.partitions,
  );
  const kafka = createKafka({ clientId: `projector-${options.name}-test`, ...infra.kafka });
  const admin = kafka.admin();
  await admin.connect();
  const dlq = new DeadLetterPublisher(kafka);
  await dlq.connect();
  const decoder = new TaskRecordDecoder(
    new AvroSerde({ registry: createSchemaRegistry(infra.schemaRegistry), contracts: tasksTaskEventsContracts }),
  );
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const settings: ProjectionSettings = {
    topics: [topic.topic],
    groupPrefix: `test-${options.name}-${options.run}`,
    concurrency: 2,
    maxBatchBytes: 1_048_576,
    gapRetries: 2,
    retry: { minTimeoutMs: 20, maxTimeoutMs: 200 },
    ...options.settings,
  };
  const deps = { pool, kafka, decoder, dlq, logger };
  const runner = new ProjectionRunner(deps, settings, 200);
  const operations = new ProjectorOperations(deps, settings, admin, ownerPool);
  const reader = new TaskReadRepository(queryPool);
  const parts = { infra, db, pool, ownerPool, queryPool, reader, kafka, admin, topic, dlq, settings, deps, runner };
  await options.beforeStart?.({ ...parts, operations });
  runner.start();
  const fixture: ProjectorFixture = {
    ...parts,
    operations,
    // Through `fixture.runner`: a test may replace the runner (stop it, reset offsets, start another).
    caughtUp: (timeoutMs = 30_000) =>
      eventually(async () => {
        if (!fixture.runner.status().running) throw new Error('the projector is not running');
        const lag = totalLag(await fixture.runner.lag());
        if (lag !== 0) throw new Error(`the projector is ${lag} records behind`);
      }, timeoutMs),
    close: async () => {
      await fixture.runner.stop();
      await dlq.disconnect();
      await admin.disconnect();
      await topic.close();
      await Promise.all([pool.end(), ownerPool.end(), queryPool.end()]);
      await db.drop();
    },
  };
  return fixture;
}
