import { migrateEventStore } from '@cqrs/event-store';
import { createThrowawayDatabase, type ThrowawayDatabase } from '@cqrs/event-store/testing';
import type { TaskEvent } from '@cqrs/tasks-domain';
import { TaskReadRepository } from '@cqrs/tasks-read-model';
import { createReadModelTestDatabase, type ReadModelTestDatabase } from '@cqrs/tasks-read-model/testing';
import { eventually, getTestInfra, repoRoot, startApp, withClient, type AppProcess } from '@cqrs/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { TaskTopic, taskEventsFor } from './support/task-topic';

const exec = promisify(execFile);

// `projector rebuild` from the event store as an operator runs it: the built CLI against a store
// (read as the projector's role) and a topic that lacks part of the history, with the built
// projector running beside it, which shows the rebuild on its /metrics and follows the switch.
describe('rebuild from the event store (built CLI and projector)', () => {
  const run = randomUUID().slice(0, 8);
  let readDb: ReadModelTestDatabase;
  let writeDb: ThrowawayDatabase;
  let topic: TaskTopic;
  let projector: AppProcess;
  let env: Record<string, string>;
  let queryPool: Pool;
  let reader: TaskReadRepository;

  beforeAll(async () => {
    const infra = await getTestInfra();
    readDb = await createReadModelTestDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerReadUrl,
      projectorUrl: infra.postgres.readUrl,
      queryUrl: infra.postgres.queryUrl,
      prefix: 'e2e_read',
    });
    writeDb = await createThrowawayDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerWriteUrl,
      appRoles: [new URL(infra.postgres.readUrl).username],
    });
    await migrateEventStore(writeDb.url);
    topic = await TaskTopic.create(infra.kafka.brokers, infra.schemaRegistry, `e2e.store-rebuild.${run}.events`, 3);
    env = {
      DATABASE_URL: readDb.projectorUrl,
      MIGRATIONS_READ_DATABASE_URL: readDb.ownerUrl,
      EVENT_STORE_DATABASE_URL: writeDb.urlAs(infra.postgres.readUrl),
      KAFKA_BROKERS: infra.kafka.brokers.join(','),
      SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
      PROJECTOR_TOPICS: topic.topic,
      PROJECTOR_GROUP_PREFIX: `e2e-store-rebuild-${run}`,
      PROJECTOR_STREAM_TOPIC_PREFIX: `e2e-store-rebuild-${run}.`,
      PROJECTOR_STREAM_GROUP_PREFIX: `e2e-store-rebuild-${run}-`,
      PROJECTOR_GENERATION_CHECK_MS: '200',
      LOG_LEVEL: 'warn',
    };
    projector = await startApp('projector', env);
    queryPool = new Pool({ connectionString: readDb.queryUrl, max: 2 });
    reader = new TaskReadRepository(queryPool);
  });

  afterAll(async () => {
    await projector?.stop();
    await topic?.close();
    await queryPool?.end();
    await readDb?.drop();
    await writeDb?.drop();
  });

  /** Commits events to the store (next versions of their tasks) and, with `publish`, to the topic. */
  const commit = async (events: TaskEvent[], publish: boolean) => {
    const versions = new Map<string, number>();
    const rows = events.map((e) => {
      const version = (versions.get(e.data.taskId) ?? topic.history.get(e.data.taskId)?.events.length ?? 0) + 1;
      versions.set(e.data.taskId, version);
      return [e.data.taskId, version, e.type, JSON.stringify(e.data)] as const;
    });
    await withClient(writeDb.url, (c) =>
      c.query(
        `INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version, data)
         SELECT gen_random_uuid(), s, 'tasks.task', v, t, CASE t WHEN 'TaskCreated' THEN 2 ELSE 1 END, d
           FROM unnest($1::text[], $2::bigint[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS x(s, v, t, d, ord) ORDER BY ord`,
        [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])],
      ),
    );
    if (publish) await topic.append(...events);
    else await topic.withhold(...events);
  };

  const cli = (args: string[]) =>
    exec(process.execPath, [join(repoRoot(), 'dist/apps/projector/cli.js'), ...args], {
      env: { ...process.env, ...env },
      timeout: 120_000,
    });

  const metric = async (name: string, labels: Record<string, string>) => {
    const text = await (await fetch(`${projector.managementUrl}/metrics`)).text();
    const selector = Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(selector));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };

  const expectFoldOfTheStore = async () => {
    for (const id of topic.history.keys()) expect(await reader.findTask(id)).toEqual(topic.replay(id));
  };

  it('rebuilds what only the store has, reports it as JSON, and the running projector shows it and follows', async () => {
    const owner = `olga-${run}`;
    const tasks = Array.from({ length: 10 }, () => taskEventsFor(randomUUID(), owner));
    await commit(
      tasks.flatMap((t, i) => (i % 2 ? [t.created(), t.started()] : [t.created(), t.completed()])),
      true,
    );
    const unpublished = taskEventsFor(randomUUID(), owner); // the relay never published these
    await commit([unpublished.created(), unpublished.updated({ title: 'only in the store' })], false);

    const { stdout } = await cli(['rebuild', '--json', '--max-lag', '0', '--handoff-timeout', '15000']);
    const report = JSON.parse(stdout) as {
      generation: number;
      source: string;
      events: number;
      durationMs: number;
      eventsPerSecond: number;
      store: { events: number };
    };
    expect(report).toMatchObject({ generation: 2, source: 'store', events: 22, store: { events: 22 } });
    expect(report.durationMs).toBeGreaterThan(0);
    expect(report.eventsPerSecond).toBeGreaterThan(0);

    await eventually(async () => {
      expect(await metric('cqrs_projection_rebuild_events_done', { generation: '2', source: 'store' })).toBe(22);
      expect(await metric('cqrs_projection_rebuild_running', { generation: '2', source: 'store' })).toBe(0);
    }, 30_000);
    // The projector follows the switch; what it applies next lands in the new generation.
    await commit([unpublished.started()], true);
    await eventually(
      async () =>
        expect(await reader.findTask(unpublished.taskId)).toMatchObject({
          title: 'only in the store',
          status: 'started',
          version: 3,
        }),
      30_000,
    );
    await expectFoldOfTheStore();
  });

  it('prints one progress line (phase, events, rate) and a summary for people, and says when there is nothing to resume', async () => {
    const { stdout, stderr } = await cli(['rebuild', '--max-lag', '0', '--handoff-timeout', '15000']);
    expect(stderr).toMatch(/generation 3 \(store\): reading-store, [\d,]+(\/[\d,]+)? events, [\d,]+\/s/);
    expect(stdout).toMatch(/^generation 3 is active \(was 2\), rebuilt from store: 23 events in [\d.]+ s/m);
    expect(stdout).toMatch(/event store: 23 events read in/);
    await expect(cli(['rebuild', '--resume'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no interrupted rebuild'),
    });
    await expectFoldOfTheStore();
  });
});
