import { migrateEventStore, WRITE_DATABASE_ROLES } from '@cqrs/event-store';
import { createThrowawayDatabase, type ThrowawayDatabase } from '@cqrs/event-store/testing';
import { AvroSerde, createSchemaRegistry } from '@cqrs/messaging';
import { createKafka, DeadLetterPublisher, totalLag } from '@cqrs/messaging/consumer';
import { tasksTaskEventsContracts, tasksTaskEventsTopic } from '@cqrs/tasks-contracts';
import type { TaskEvent } from '@cqrs/tasks-domain';
import { replayTask, TaskReadRepository, userTaskStats, emptyCounts } from '@cqrs/tasks-read-model';
import { createReadModelTestDatabase, type ReadModelTestDatabase } from '@cqrs/tasks-read-model/testing';
import { appIdentityEnv, eventually, getTestInfra, grantAppAcls, repoRoot, type TestInfra } from '@cqrs/testing';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { contractRecordOf, taskEventsFor } from '../../e2e/support/task-topic';
import { ProjectionRunner } from '../projection/projection-runner';
import { TaskRecordDecoder } from '../projection/task-record.decoder';
import type { Difference } from './compare';
import { Reconciler, type ReconcileReport } from './reconciler';

/**
 * The event store and the topic written as the command service and the relay write them (each
 * event in `events` with its event id, the same id in the record's `id` header), the projector
 * running in-process, and reconciliation run both in-process and as the built CLI (as the
 * projector's own database roles and Kafka identity).
 */
class StoreAndTopic {
  /** Per task: its events, in version order, with their ids. */
  readonly history = new Map<string, { ownerId: string; events: { event: TaskEvent; eventId: string }[] }>();
  private readonly serde: AvroSerde;
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    infra: TestInfra,
    private readonly store: Pool,
    readonly topic: string,
  ) {
    this.serde = new AvroSerde({
      registry: createSchemaRegistry(infra.schemaRegistry),
      contracts: tasksTaskEventsContracts,
      autoRegister: true,
    });
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  /** Appends to the store (one transaction) and, unless `publish` is false, to the topic. */
  async append(events: TaskEvent[], { publish = true } = {}): Promise<void> {
    const appended: { event: TaskEvent; eventId: string; version: number }[] = [];
    for (const event of events) {
      const entry = this.history.get(event.data.taskId) ?? {
        ownerId: event.type === 'TaskCreated' ? event.data.ownerId : '?',
        events: [],
      };
      const eventId = randomUUID();
      entry.events.push({ event, eventId });
      this.history.set(event.data.taskId, entry);
      appended.push({ event, eventId, version: entry.events.length });
    }
    await this.store.query(
      `INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version, data)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::int[], $7::jsonb[])`,
      [
        appended.map((a) => a.eventId),
        appended.map((a) => a.event.data.taskId),
        appended.map(() => 'tasks.task'),
        appended.map((a) => a.version),
        appended.map((a) => a.event.type),
        appended.map((a) => (a.event.type === 'TaskCreated' ? 2 : 1)),
        appended.map((a) => JSON.stringify(a.event.data)),
      ],
    );
    if (publish) await this.publish(appended);
  }

  /** Publishes a task's stored events `from`..`to` (as the relay would, late). */
  async publishStored(taskId: string, from = 1, to = Infinity): Promise<void> {
    const events = this.history.get(taskId)?.events ?? [];
    await this.publish(
      events.map((e, i) => ({ ...e, version: i + 1 })).filter((e) => e.version >= from && e.version <= to),
    );
  }

  /** Produces a record for a stream the store does not have (a phantom). */
  async publishOnly(event: TaskEvent, version: number): Promise<void> {
    await this.publish([{ event, eventId: randomUUID(), version }]);
  }

  replay(taskId: string) {
    return replayTask((this.history.get(taskId)?.events ?? []).map((e) => e.event));
  }

  replayStats(ownerId: string) {
    const counts = emptyCounts();
    for (const [taskId, entry] of this.history) {
      const view = entry.ownerId === ownerId ? this.replay(taskId) : undefined;
      if (view) counts[view.status] += 1;
    }
    return userTaskStats(ownerId, counts);
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }

  private async publish(events: { event: TaskEvent; eventId: string; version: number }[]): Promise<void> {
    const messages = [];
    for (const { event, eventId, version } of events) {
      const record = contractRecordOf(event, version, eventId);
      messages.push({
        key: event.data.taskId,
        value: await this.serde.encode(tasksTaskEventsTopic, record.eventType, record.value),
        headers: { id: eventId, eventType: record.eventType, aggregateVersion: String(version) },
      });
    }
    if (messages.length > 0) await this.producer.send({ topic: this.topic, acks: -1, messages });
  }
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('projector reconcile (event store ↔ read model ↔ Kafka)', () => {
  const run = randomUUID().slice(0, 8);
  const topicName = `test.reconcile.${run}.events`;
  const groupPrefix = `test-reconcile-${run}`;
  let infra: TestInfra;
  let writeDb: ThrowawayDatabase;
  let readDb: ReadModelTestDatabase;
  let storeOwner: Pool;
  let storeReader: Pool;
  let projectorPool: Pool;
  let ownerRead: Pool;
  let queryPool: Pool;
  let kafka: Kafka;
  let dlq: DeadLetterPublisher;
  let runner: ProjectionRunner;
  let system: StoreAndTopic;
  let reader: TaskReadRepository;
  let aclAdmin: Admin;
  let revokeAcls: () => Promise<void>;
  let cliEnv: Record<string, string | undefined>;

  beforeAll(async () => {
    infra = await getTestInfra();
    writeDb = await createThrowawayDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerWriteUrl,
      prefix: 'recon_write',
      // As on the real write database: the command service's, the relay's and the projector's roles.
      appRoles: Object.values(WRITE_DATABASE_ROLES),
    });
    await migrateEventStore(writeDb.url);
    readDb = await createReadModelTestDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerReadUrl,
      projectorUrl: infra.postgres.readUrl,
      queryUrl: infra.postgres.queryUrl,
      prefix: 'recon_read',
    });
    storeOwner = new Pool({ connectionString: writeDb.url, max: 2 });
    // The store as the projector's role: what the 1764000000005 migration grants it.
    storeReader = new Pool({ connectionString: writeDb.urlAs(infra.postgres.readUrl), max: 2 });
    projectorPool = new Pool({ connectionString: readDb.projectorUrl, max: 6 });
    ownerRead = new Pool({ connectionString: readDb.ownerUrl, max: 2 });
    queryPool = new Pool({ connectionString: readDb.queryUrl, max: 2 });
    reader = new TaskReadRepository(queryPool);

    kafka = createKafka({ clientId: 'reconcile-test', ...infra.kafka });
    // Kept connected until the ACLs are revoked with it (a disconnected admin would reconnect and stay).
    aclAdmin = kafka.admin();
    await aclAdmin.connect();
    await aclAdmin.createTopics({ topics: [{ topic: topicName, numPartitions: 3 }], waitForLeaders: true });
    // The CLI runs as the projector's identity: its ACLs, on this test's topic and group prefixes.
    revokeAcls = await grantAppAcls(aclAdmin, 'projector', { topic: `test.reconcile.${run}`, group: groupPrefix });

    system = new StoreAndTopic(kafka, infra, storeOwner, topicName);
    await system.connect();
    dlq = new DeadLetterPublisher(kafka);
    await dlq.connect();
    const decoder = new TaskRecordDecoder(
      new AvroSerde({ registry: createSchemaRegistry(infra.schemaRegistry), contracts: tasksTaskEventsContracts }),
    );
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    runner = new ProjectionRunner(
      { pool: projectorPool, kafka, decoder, dlq, logger },
      {
        topics: [topicName],
        groupPrefix,
        concurrency: 3,
        maxBatchBytes: 1_048_576,
        gapRetries: 1,
        retry: { minTimeoutMs: 20, maxTimeoutMs: 200 },
      },
      200,
    );
    runner.start();

    cliEnv = {
      ...process.env,
      ...appIdentityEnv('projector'),
      DATABASE_URL: readDb.projectorUrl,
      MIGRATIONS_READ_DATABASE_URL: readDb.ownerUrl,
      EVENT_STORE_DATABASE_URL: writeDb.urlAs(infra.postgres.readUrl),
      KAFKA_BROKERS: infra.kafka.brokers.join(','),
      SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
      PROJECTOR_TOPICS: topicName,
      PROJECTOR_GROUP_PREFIX: groupPrefix,
      LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    await runner?.stop();
    await dlq?.disconnect();
    await system?.close();
    await aclAdmin?.deleteTopics({ topics: [topicName, `${topicName}.dlq`] }).catch(() => undefined);
    await aclAdmin?.deleteGroups([`${groupPrefix}.g1`]).catch(() => undefined);
    await revokeAcls?.();
    await aclAdmin?.disconnect();
    await Promise.all([storeOwner, storeReader, projectorPool, ownerRead, queryPool].map((p) => p?.end()));
    await readDb?.drop();
    await writeDb?.drop();
  });

  const reconcile = async (options: Parameters<Reconciler['run']>[0] = {}): Promise<ReconcileReport> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await new Reconciler({
        readPool: projectorPool,
        storePool: storeReader,
        kafka,
        admin,
        topics: [topicName],
        groupPrefix,
      }).run({ settleMs: 300, ...options });
    } finally {
      await admin.disconnect();
    }
  };

  /** The built CLI as an operator runs it. */
  const cli = (...args: string[]): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(repoRoot(), 'dist/apps/projector/cli.js'), 'reconcile', ...args],
        { env: cliEnv as NodeJS.ProcessEnv, timeout: 120_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const json = (r: CliResult) => JSON.parse(r.stdout) as ReconcileReport;
  const kindsOf = (differences: Difference[]) =>
    differences.map((d) => [d.kind, d.streamId ?? `user ${d.ownerId}`, d.field]).sort();

  /** Resolves once the projector has applied everything on the topic. */
  const caughtUp = () =>
    eventually(async () => {
      expect(runner.status().running).toBe(true);
      expect(totalLag(await runner.lag())).toBe(0);
    }, 30_000);

  const expectReplayed = async () => {
    const owners = new Set<string>();
    for (const [taskId, entry] of system.history) {
      expect(await reader.findTask(taskId)).toEqual(system.replay(taskId));
      owners.add(entry.ownerId);
    }
    for (const owner of owners) expect(await reader.userStats(owner)).toEqual(system.replayStats(owner));
  };

  const generation = async () =>
    (
      await ownerRead.query<{ generation: number }>(
        `SELECT generation FROM projection_generations WHERE status = 'active'`,
      )
    ).rows[0]!.generation;

  it('builds on the archive migration: the projector’s role reads events and events_archive', async () => {
    const { rows } = await storeReader.query<{ archive: string | null }>(
      `SELECT to_regclass('events_archive')::text AS archive`,
    );
    expect(rows[0]?.archive).toBe('events_archive');
    await expect(
      storeReader.query('SELECT count(*) FROM events UNION ALL SELECT count(*) FROM events_archive'),
    ).resolves.toBeDefined();
  });

  it('finds no difference in a system that agrees, as the built CLI (exit 0), events in the archive included', async () => {
    expect(existsSync(join(repoRoot(), 'dist/apps/projector/cli.js'))).toBe(true);
    const owners = [`alice-${run}`, `bob-${run}`];
    const tasks = Array.from({ length: 10 }, (_, i) => taskEventsFor(randomUUID(), owners[i % 2]!));
    await system.append(tasks.map((t) => t.created()));
    await system.append(
      tasks.flatMap(
        (t, i) =>
          [
            [t.started(), t.completed()],
            [t.updated({ title: 'renamed', description: 'more' }), t.abandoned('no time')],
            [t.deleted()],
            [],
          ][i % 4]!,
      ),
    );
    // Two cold streams moved to the archive, as the store's archiving does.
    const archived = tasks.slice(0, 2).map((t) => t.taskId);
    await storeOwner.query(`BEGIN; SET LOCAL cqrs.archiving = 'on';
      WITH moved AS (DELETE FROM events WHERE stream_id IN ('${archived.join("','")}') RETURNING *) INSERT INTO events_archive SELECT * FROM moved; COMMIT`);
    await caughtUp();
    await expectReplayed();

    const result = await cli('--json', '--settle', '1000');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = json(result);
    const events = [...system.history.values()].reduce((n, e) => n + e.events.length, 0);
    expect(report).toMatchObject({
      ok: true,
      differences: [],
      summary: {
        generation: await generation(),
        streamsChecked: 10,
        rowsChecked: 10,
        usersChecked: 2,
        eventsRead: events,
        kafkaRecords: events,
        kafkaPartitions: 3,
      },
    });

    const text = await cli();
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('no differences: the read model agrees with the store, and the store with Kafka');
  });

  it('finds a tampered row, a deleted row and a bumped statistic (exit 1), repairs them (exit 0), and is clean afterwards', async () => {
    const [tampered, deleted] = [...system.history.keys()].slice(4, 6);
    const g = await generation();
    const statsOwner = system.history.get(tampered!)!.ownerId;
    await ownerRead.query(`UPDATE task_view_g${g} SET title = 'tampered', version = version + 7 WHERE task_id = $1`, [
      tampered,
    ]);
    await ownerRead.query(`DELETE FROM task_view_g${g} WHERE task_id = $1`, [deleted]);
    await ownerRead.query(
      `UPDATE user_task_stats_g${g} SET completed_count = completed_count + 3 WHERE owner_id = $1`,
      [statsOwner],
    );

    const found = await cli('--json', '--settle', '500');
    expect(found.code).toBe(1);
    expect(kindsOf(json(found).differences)).toEqual(
      [
        ['MISMATCH', tampered, 'title'],
        ['MISMATCH', tampered, 'version'],
        ['MISSING', deleted, 'task_view'],
        ['STATS', `user ${statsOwner}`, 'completed_count'],
      ].sort(),
    );
    expect(json(found).differences).toContainEqual(
      expect.objectContaining({ kind: 'MISMATCH', streamId: tampered, field: 'title', found: '"tampered"' }),
    );
    const table = await cli('--settle', '0');
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/differences: 4 \(MISMATCH 2, MISSING 1, STATS 1\)/);
    expect(table.stdout).toMatch(new RegExp(`${tampered}\\s+MISMATCH\\s+title\\s+"tampered"`));

    const repaired = await cli('--repair', '--json', '--settle', '500');
    expect(repaired.code).toBe(0);
    expect(json(repaired)).toMatchObject({
      ok: true,
      differences: [],
      repair: { streams: 2, rewritten: 2, skipped: 0 },
    });
    expect(json(repaired).found).toHaveLength(4);
    await expectReplayed();

    const after = await cli('--json', '--settle', '500');
    expect(after.code).toBe(0);
    expect(json(after).differences).toEqual([]);
  });

  it('reports a stream whose events never reached Kafka as not published; --repair fixes the read model, not Kafka', async () => {
    const lost = taskEventsFor(randomUUID(), `carol-${run}`);
    await system.append([lost.created(), lost.started()], { publish: false });

    const found = await reconcile();
    expect(found.ok).toBe(false);
    expect(kindsOf(found.differences)).toEqual([
      ['MISSING', lost.taskId, 'task_view'],
      ['NOT_PUBLISHED', lost.taskId, 'version'],
    ]);
    expect(found.differences).toContainEqual(
      expect.objectContaining({ kind: 'NOT_PUBLISHED', found: 'none', store: 'v2' }),
    );
    expect(found.advice.join('\n')).toMatch(/^NOT_PUBLISHED: /);

    const repaired = await reconcile({ repair: true });
    expect(kindsOf(repaired.differences)).toEqual([['NOT_PUBLISHED', lost.taskId, 'version']]);
    expect(await reader.findTask(lost.taskId)).toEqual(system.replay(lost.taskId));

    // The relay catches up late: the projector finds the events applied already (duplicates).
    await system.publishStored(lost.taskId);
    await caughtUp();
    expect(await reconcile()).toMatchObject({ ok: true, differences: [] });
    await expectReplayed();
  });

  it('waits out a projector that is behind (settle period) instead of reporting it', async () => {
    const late = taskEventsFor(randomUUID(), `dave-${run}`);
    await system.append([late.created()], { publish: false });
    // Published while the reconciliation looks: the first look finds it missing, the one after the settle period does not.
    const publishing = new Promise((r) => setTimeout(r, 300)).then(() => system.publishStored(late.taskId));
    const report = await reconcile({ settleMs: 5_000 });
    await publishing;
    expect(report).toMatchObject({ ok: true, differences: [] });
  });

  it('keeps streams the live projector is applying meanwhile intact while --repair rewrites them', async () => {
    const owner = `erin-${run}`;
    const tasks = Array.from({ length: 30 }, () => taskEventsFor(randomUUID(), owner));
    await system.append(tasks.map((t) => t.created()));
    await caughtUp();
    const g = await generation();
    // A field the coming events do not set, so the projector carries the damage along with each of them.
    await ownerRead.query(`UPDATE task_view_g${g} SET description = 'tampered' WHERE task_id = ANY($1)`, [
      tasks.map((t) => t.taskId),
    ]);

    // Events keep coming for the same streams while the repair runs.
    let writing = true;
    let rounds = 0;
    const writer = (async () => {
      for (; writing; rounds++) {
        await system.append(tasks.map((t) => t.updated({ title: `round ${rounds}` })));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const repaired = await reconcile({ repair: true, settleMs: 2_000, repairBatchSize: 7 });
    writing = false;
    await writer;
    expect(repaired.repair?.streams).toBe(30);
    expect(rounds).toBeGreaterThan(3);
    await caughtUp();
    expect(await reconcile()).toMatchObject({ ok: true, differences: [] });
    await expectReplayed();
  });

  it('exits 2 with a readable message for bad arguments and a role that may not read the store', async () => {
    const usage = await cli('--settle', 'soon');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("option '--settle <ms>' argument 'soon' is invalid");
    cliEnv = { ...cliEnv, EVENT_STORE_DATABASE_URL: writeDb.urlAs(infra.postgres.relayUrl) };
    try {
      const denied = await cli('--json');
      expect(denied.code).toBe(2);
      expect(denied.stderr).toMatch(/^error: role cqrs_relay may not read events and events_archive/);
    } finally {
      cliEnv = { ...cliEnv, EVENT_STORE_DATABASE_URL: writeDb.urlAs(infra.postgres.readUrl) };
    }
  });

  // Last: a phantom cannot be taken off the topic again.
  it('reports a record on Kafka that the store does not have (phantom); --repair removes what it made in the read model', async () => {
    const phantom = taskEventsFor(randomUUID(), `frank-${run}`);
    await system.publishOnly(phantom.created(), 1);
    await caughtUp();
    expect(await reader.findTask(phantom.taskId)).toMatchObject({ version: 1 });

    const found = await reconcile();
    expect(kindsOf(found.differences)).toEqual([
      ['ORPHAN', phantom.taskId, 'task_view'],
      ['PHANTOM', phantom.taskId, 'version'],
      ['STATS', `user frank-${run}`, 'open_count'],
    ]);
    const repaired = await reconcile({ repair: true });
    expect(kindsOf(repaired.differences)).toEqual([['PHANTOM', phantom.taskId, 'version']]);
    expect(repaired.repair).toMatchObject({ removed: 1 });
    expect(await reader.findTask(phantom.taskId)).toBeUndefined();
    expect((await reader.userStats(`frank-${run}`)).total).toBe(0);
  });
});
