// Task streams in the event store as the command service and `npm run event-store` build it
// (with the tasks domain's upcasters), and the CLI itself, run as a process against a throwaway
// write database migrated by the owner.
import { createEventStoreDataSource, migrateEventStore, PostgresEventStore } from '@cqrs/event-store';
import { createThrowawayDatabase, type ThrowawayDatabase } from '@cqrs/event-store/testing';
import { STATE_SCHEMA_VERSION, taskDecider, taskUpcasters, type Task, type TaskEvent } from '@cqrs/tasks-domain';
import { getTestInfra, repoRoot, type TestInfra } from '@cqrs/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DataSource } from 'typeorm';

const exec = promisify(execFile);
let infra: TestInfra;
let db: ThrowawayDatabase;
let owner: DataSource;
let commandUrl: string;

beforeAll(async () => {
  infra = await getTestInfra();
  db = await createThrowawayDatabase({
    adminUrl: infra.postgres.adminUrl,
    ownerUrl: infra.postgres.ownerWriteUrl,
    appRoles: [new URL(infra.postgres.writeUrl).username],
  });
  await migrateEventStore(db.url);
  commandUrl = db.urlAs(infra.postgres.writeUrl);
  owner = await createEventStoreDataSource({ url: db.url, poolSize: 2 }).initialize();
});
afterAll(async () => {
  await owner?.destroy();
  await db?.drop();
});

const created = (taskId: string) => ({
  taskId,
  ownerId: 'user-1',
  title: 'Written before priorities',
  createdAt: '2025-01-01T09:00:00.000Z',
});

/**
 * A task created before TaskCreated had `priority` (schema version 1), as it sits in the store:
 * inserted by the owner (the app role appends through the current code only), optionally
 * completed `completedDaysAgo` days ago.
 */
async function legacyTask(completedDaysAgo?: number): Promise<string> {
  const taskId = randomUUID();
  await owner.query(
    `INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version, data, recorded_at)
     VALUES (gen_random_uuid(), $1, 'tasks.task', 1, 'TaskCreated', 1, $2, now() - interval '400 days')`,
    [taskId, JSON.stringify(created(taskId))],
  );
  if (completedDaysAgo !== undefined) {
    await owner.query(
      `INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version, data, recorded_at) VALUES
         (gen_random_uuid(), $1, 'tasks.task', 2, 'TaskStarted', 1, $2, now() - $4 * interval '1 day'),
         (gen_random_uuid(), $1, 'tasks.task', 3, 'TaskCompleted', 1, $3, now() - $4 * interval '1 day')`,
      [
        taskId,
        JSON.stringify({ taskId, startedAt: '2025-01-02T09:00:00.000Z' }),
        JSON.stringify({ taskId, completedAt: '2025-01-03T09:00:00.000Z' }),
        completedDaysAgo,
      ],
    );
  }
  return taskId;
}

describe('task streams in the store (upcast as the command service reads them)', () => {
  it('loads a TaskCreated stored at schema version 1, without priority, as a NORMAL-priority task', async () => {
    const taskId = await legacyTask();
    const dataSource = await createEventStoreDataSource({ url: commandUrl, poolSize: 2 }).initialize();
    try {
      const store = new PostgresEventStore(dataSource, { upcasters: taskUpcasters });
      const loaded = await store.aggregateStream<Task, TaskEvent>(taskId, {
        ...taskDecider,
        stateSchemaVersion: STATE_SCHEMA_VERSION,
      });
      expect(loaded).toMatchObject({ version: 1, state: { status: 'open', taskId, priority: 'NORMAL' } });
      const [event] = await store.readStream<TaskEvent>(taskId);
      expect(event).toMatchObject({
        type: 'TaskCreated',
        schemaVersion: 2,
        data: { ...created(taskId), priority: 'NORMAL' },
      });
      // The stored row is unchanged, and without the chain the task would have no priority.
      const [row] = await owner.query(`SELECT schema_version, data FROM events WHERE stream_id = $1`, [taskId]);
      expect(row).toEqual({ schema_version: 1, data: created(taskId) });
      const raw = await new PostgresEventStore(dataSource).aggregateStream<Task, TaskEvent>(taskId, taskDecider);
      expect((raw.state as { priority?: string }).priority).toBeUndefined();
    } finally {
      await dataSource.destroy();
    }
  });
});

describe('npm run event-store (CLI)', () => {
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    exec(
      process.execPath,
      ['-r', '@swc-node/register', join('apps/command-service/src/cli/event-store.cli.ts'), ...args],
      {
        cwd: repoRoot(),
        env: {
          ...process.env,
          SWC_NODE_PROJECT: 'tsconfig.base.json',
          DATABASE_URL: commandUrl,
          MIGRATIONS_WRITE_DATABASE_URL: db.url,
          ...env,
        },
        timeout: 60_000,
      },
    );
  const failure = (args: string[], env?: NodeJS.ProcessEnv) =>
    cli(args, env).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  const counts = async () =>
    (
      await owner.query<{ events: number; archived: number; streams: number; snapshots: number }[]>(
        `SELECT (SELECT count(*) FROM events)::int AS events, (SELECT count(*) FROM events_archive)::int AS archived,
                (SELECT count(*) FROM archived_streams)::int AS streams, (SELECT count(*) FROM snapshots)::int AS snapshots`,
      )
    )[0];

  it.each([
    [
      ['snapshots', 'prune', '--keep', '0'],
      `option '--keep <n>' argument '0' is invalid. "0" is not a positive integer`,
    ],
    [['snapshots', 'prune', '--max-age', '90'], `"90" is not a duration: use a whole number and a unit, e.g. 90d`],
    [['archive', '--older-than', 'soon'], `"soon" is not a duration`],
    [['archive', '--batch', '-5'], `error: option '--batch <n>' argument '-5' is invalid`],
    [['snapshots', 'take'], `error: missing required argument 'streamId'`],
    [['snapshots', 'shrink'], `error: unknown command 'shrink'`],
    [['archive', '--dry'], `error: unknown option '--dry'`],
  ])('exits non-zero with a readable message on a bad argument: %j', async (args, message) => {
    const result = await failure(args);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('exits non-zero with a readable reason, and no password, when the database is unreachable', async () => {
    const result = await failure(['size'], { DATABASE_URL: 'postgres://cqrs_command:s3cret@127.0.0.1:1/cqrs_write' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'error: cannot reach PostgreSQL at postgres://cqrs_command:***@127.0.0.1:1/cqrs_write: connection refused',
    );
    expect(result.stderr).not.toContain('s3cret');
  });

  it('archive --dry-run counts finished old tasks and changes nothing; archive moves them, as the owner', async () => {
    const old = [await legacyTask(45), await legacyTask(40)];
    const recent = await legacyTask(5);
    const open = await legacyTask();
    const before = await counts();

    const dry = await cli(['archive', '--dry-run', '--json']);
    expect(JSON.parse(dry.stdout)).toEqual({ streams: 2, events: 6, batches: 1, dryRun: true });
    expect(await counts()).toEqual(before);
    const human = await cli(['archive', '--dry-run', '--older-than', '4d']);
    expect(human.stdout.trim()).toBe(
      'would archive 3 task streams (9 events) finished more than 4d ago, in 1 batch(es)',
    );
    expect(await counts()).toEqual(before);

    const archived = await cli(['archive', '--batch', '1']);
    expect(archived.stdout.trim()).toBe(
      'archived 2 task streams (6 events) finished more than 30d ago, in 2 batch(es)',
    );
    expect(await counts()).toMatchObject({
      events: before.events - 6,
      archived: before.archived + 6,
      streams: before.streams + 2,
    });
    const ids = (
      await owner.query<{ stream_id: string }[]>('SELECT stream_id FROM archived_streams ORDER BY stream_id')
    ).map((r) => r.stream_id);
    expect(ids).toEqual([...old].sort());
    expect(ids).not.toContain(recent);
    expect(ids).not.toContain(open);

    // Archived tasks still load whole (and upcast) through the app role.
    const dataSource = await createEventStoreDataSource({ url: commandUrl, poolSize: 1 }).initialize();
    try {
      const loaded = await new PostgresEventStore(dataSource, { upcasters: taskUpcasters }).aggregateStream<
        Task,
        TaskEvent
      >(old[0], taskDecider);
      expect(loaded).toMatchObject({ version: 3, state: { status: 'completed', priority: 'NORMAL' } });
    } finally {
      await dataSource.destroy();
    }

    const size = JSON.parse((await cli(['size', '--json'])).stdout);
    expect(size).toMatchObject({
      archivedStreams: 2,
      events: { bytes: expect.any(Number) },
      eventsArchive: { bytes: expect.any(Number) },
    });
    expect((await cli(['size'])).stdout).toMatch(
      /^table\s+size\s+rows \(estimate\)\nevents\s.*\nevents_archive\s.*\nsnapshots\s.*\n\narchived streams: 2\n$/,
    );
  });

  it('snapshots take folds a task from its upcast events and snapshots it; stats and prune see it', async () => {
    const taskId = await legacyTask();
    const taken = await cli(['snapshots', 'take', taskId]);
    expect(taken.stdout.trim()).toBe(
      `snapshot of ${taskId} at version 1 (state schema version ${STATE_SCHEMA_VERSION}) written`,
    );
    const [snapshot] = await owner.query(`SELECT version, state FROM snapshots WHERE stream_id = $1`, [taskId]);
    expect(snapshot).toMatchObject({ version: '1', state: { status: 'open', priority: 'NORMAL' } });
    expect((await cli(['snapshots', 'take', taskId])).stdout).toContain('already existed');
    const none = await failure(['snapshots', 'take', 'no-such-task']);
    expect(none).toMatchObject({ code: 1, stdout: 'stream no-such-task has no events: no snapshot\n' });

    // Old snapshots of the same task: prune --dry-run counts, prune removes, never the newest.
    await owner.query(
      `INSERT INTO snapshots (stream_id, state_schema_version, version, state, created_at) VALUES ($1, 0, 1, '{}', now() - interval '200 days')`,
      [taskId],
    );
    const before = await counts();
    const dry = await cli(['snapshots', 'prune', '--dry-run', '--json']);
    expect(JSON.parse(dry.stdout)).toMatchObject({ deleted: 1, expired: 1, dryRun: true });
    expect(await counts()).toEqual(before);
    const pruned = await cli(['snapshots', 'prune', '--keep', '2', '--max-age', '100d']);
    expect(pruned.stdout.trim()).toMatch(
      /^pruned 1 of \d+ snapshots of \d+ streams \(0 beyond the newest 2, 1 older than 100d\)$/,
    );
    expect(await counts()).toEqual({ ...before, snapshots: before.snapshots - 1 });
  });

  describe('snapshots stats', () => {
    let metrics: Server;
    let metricsUrl: string;
    beforeAll(async () => {
      metrics = createServer((_, res) =>
        res.end(
          'event_replay_duration_seconds_count{from_snapshot="true"} 3\nevent_replay_duration_seconds_count{from_snapshot="false"} 1\n',
        ),
      );
      await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
      metricsUrl = `http://127.0.0.1:${(metrics.address() as { port: number }).port}/metrics`;
    });
    afterAll(() => new Promise((resolve) => metrics.close(resolve)));

    it('prints counts per state schema version and the load hit rate from the command service’s metrics', async () => {
      const result = await cli(['snapshots', 'stats', '--metrics-url', metricsUrl]);
      expect(result.stdout).toMatch(/^snapshots: \d+ of \d+ streams, .* of state \(table and indexes: .*\)\n/);
      expect(result.stdout).toContain('state schema version  snapshots  streams');
      expect(result.stdout).toContain(
        `load hit rate: 75.0% of 4 loads started from a snapshot (${metricsUrl}, since that instance started)`,
      );
      const json = JSON.parse((await cli(['snapshots', 'stats', '--json', '--metrics-url', metricsUrl])).stdout);
      expect(json).toMatchObject({
        snapshots: expect.any(Number),
        byStateSchemaVersion: expect.any(Array),
        loads: { available: true, hitRate: 0.75 },
      });
    });

    it('says clearly that the hit rate is unknown when the command service cannot be reached, and still prints the rest', async () => {
      const port = await closedPort();
      const result = await cli(['snapshots', 'stats'], { MANAGEMENT_PORT: String(port) });
      expect(result.stdout).toMatch(/^snapshots: /);
      expect(result.stdout).toContain(
        `load hit rate: unknown, cannot read the command service's metrics at http://127.0.0.1:${port}/metrics (ECONNREFUSED); is it running? (--metrics-url)`,
      );
    });
  });

  it('runs as the command role for everything but archive (which that role may not do)', async () => {
    const result = await failure(['archive'], { MIGRATIONS_WRITE_DATABASE_URL: commandUrl });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `error: the role of ${commandUrl.replace(/:[^:@/]*@/, ':***@')} may not do this (permission denied for table events); archive runs as the owner role (MIGRATIONS_WRITE_DATABASE_URL)`,
    );
  });
});

/** A port nothing listens on: bind an ephemeral one, then free it. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
