import { devToken, eventually, getTestInfra, repoRoot, startApp, type AppProcess } from '@cqrs/testing';
import { TaskReadRepository } from '@cqrs/tasks-read-model';
import { createReadModelTestDatabase, type ReadModelTestDatabase } from '@cqrs/tasks-read-model/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { TaskTopic, taskEventsFor } from './support/task-topic';

const exec = promisify(execFile);

// The built projector and query service as real processes on the real stack. Events are produced
// to Kafka the way the outbox relay publishes them, so this covers the read side end to end:
// topic → projector → read model → query service, and the operations CLI.
describe('read side end to end (built apps, real Kafka, registry and PostgreSQL)', () => {
  const run = randomUUID().slice(0, 8);
  let db: ReadModelTestDatabase;
  let topic: TaskTopic;
  let projector: AppProcess;
  let query: AppProcess;
  let env: Record<string, string>;
  let queryPool: Pool;
  let reader: TaskReadRepository;

  const startProjector = () => startApp('projector', env);

  beforeAll(async () => {
    const infra = await getTestInfra();
    db = await createReadModelTestDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerReadUrl,
      projectorUrl: infra.postgres.readUrl,
      queryUrl: infra.postgres.queryUrl,
      prefix: 'e2e_read',
    });
    topic = await TaskTopic.create(infra.kafka.brokers, infra.schemaRegistry, `e2e.read.${run}.events`, 4);
    env = {
      DATABASE_URL: db.projectorUrl,
      MIGRATIONS_READ_DATABASE_URL: db.ownerUrl,
      KAFKA_BROKERS: infra.kafka.brokers.join(','),
      SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
      PROJECTOR_TOPICS: topic.topic,
      PROJECTOR_GROUP_PREFIX: `e2e-projector-${run}`,
      // the other contexts' stream projections, on topics and groups of this run
      PROJECTOR_STREAM_TOPIC_PREFIX: `e2e-projector-${run}.`,
      PROJECTOR_STREAM_GROUP_PREFIX: `e2e-projector-${run}-`,
      PROJECTOR_GENERATION_CHECK_MS: '200',
      PROJECTOR_GAP_RETRIES: '2',
      LOG_LEVEL: 'warn',
    };
    [projector, query] = await Promise.all([
      startProjector(),
      startApp('query-service', { DATABASE_URL: db.queryUrl, LOG_LEVEL: 'warn' }),
    ]);
    queryPool = new Pool({ connectionString: db.queryUrl, max: 2 });
    reader = new TaskReadRepository(queryPool);
  });

  afterAll(async () => {
    await Promise.all([projector?.stop(), query?.stop()]);
    await topic?.close();
    await queryPool?.end();
    await db?.drop();
  });

  /** A GET to the query service as `user` (the owner of the tasks the events name), with a token from the stack's issuer. */
  const api = async (user: string, path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${query.url}${path}`, {
      headers: { authorization: `Bearer ${await devToken(user)}`, ...headers },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  /** The operations CLI as an operator runs it, against the same environment as the projector. */
  const cli = async (...args: string[]) => {
    const { stdout } = await exec(
      process.execPath,
      [join(repoRoot(), 'dist/apps/projector/cli.js'), ...args, '--json'],
      {
        env: { ...process.env, ...env },
        timeout: 60_000,
      },
    );
    return JSON.parse(stdout) as unknown;
  };
  const status = () =>
    cli('status') as Promise<{
      totalLag: number;
      members: number;
      parked: { streamId: string; headId: number; count: number }[];
    }>;
  const caughtUp = () => eventually(async () => expect((await status()).totalLag).toBe(0), 60_000);

  /** Every task produced so far equals a replay of its events, and so does every owner's statistics. */
  const expectReplayed = async () => {
    const owners = new Set<string>();
    for (const [id, entry] of topic.history) {
      expect(await reader.findTask(id)).toEqual(topic.replay(id));
      owners.add(entry.ownerId);
    }
    for (const owner of owners) expect(await reader.userStats(owner)).toEqual(topic.replayStats(owner));
  };

  it('shows every write to a reader right after it, with read-your-writes, through a whole task lifecycle', async () => {
    const owner = `owner-${run}`;
    const t = taskEventsFor(randomUUID(), owner);
    const steps = [
      [t.created('Plan the release'), { status: 'open', title: 'Plan the release' }],
      [
        t.updated({ title: 'Plan the 2.0 release', description: 'with notes' }),
        { title: 'Plan the 2.0 release', description: 'with notes' },
      ],
      [t.started(), { status: 'started' }],
      [t.completed(), { status: 'completed' }],
    ] as const;
    for (const [index, [event, expected]] of steps.entries()) {
      await topic.append(event);
      const { status, body } = await api(owner, `/tasks/${t.taskId}`, { 'X-Min-Version': String(index + 1) });
      expect(status).toBe(200);
      expect(body).toMatchObject({ ...expected, version: index + 1 });
    }
    expect((await api(owner, `/users/${owner}/stats`, { 'X-Min-Version': `${t.taskId}:4` })).body).toMatchObject({
      total: 1,
      byStatus: { completed: 1 },
      completionRate: 1,
    });

    const other = taskEventsFor(randomUUID(), owner);
    await topic.append(other.created(), other.abandoned('duplicate'));
    expect(
      (await api(owner, `/users/${owner}/tasks?status=abandoned`, { 'X-Min-Version': `${other.taskId}:2` })).body,
    ).toMatchObject({
      items: [{ taskId: other.taskId, abandonReason: 'duplicate' }],
    });
    await topic.append(other.deleted());
    expect(await api(owner, `/tasks/${other.taskId}?minVersion=3`)).toMatchObject({
      status: 404,
      body: { code: 'TASK_NOT_FOUND' },
    });
    expect((await api(owner, `/users/${owner}/stats?minVersion=${other.taskId}:3`)).body).toMatchObject({
      total: 1,
      deleted: 1,
    });
  });

  it('applies redelivered records once: resetting the group to the start changes no read model', async () => {
    await caughtUp();
    const before = await snapshot();
    const duplicatesBefore = await metric(projector, 'cqrs_duplicate_events_total');
    await projector.stop();
    await resetGroup(`e2e-projector-${run}.g1`);
    projector = await startProjector();
    await caughtUp();
    expect(await snapshot()).toEqual(before);
    expect((await metric(projector, 'cqrs_duplicate_events_total')) - duplicatesBefore).toBeGreaterThanOrEqual(
      topic.history.size,
    );
    await expectReplayed();
  });

  it('parks a poison record on the DLQ with its aggregate, lets everything else flow, and brings it in, in order, after the fix', async () => {
    const owner = `poisoned-${run}`;
    const p = taskEventsFor(randomUUID(), owner);
    const q = taskEventsFor(randomUUID(), owner);
    await topic.append(p.created(), q.created());
    const [intended] = await topic.withhold(p.started());
    await topic.sendRaw({ ...intended!, value: Buffer.from('{"not":"avro"}') });
    await topic.append(p.completed(), q.started());

    // Everything else flows: q is visible at once with read-your-writes.
    expect((await api(owner, `/tasks/${q.taskId}`, { 'X-Min-Version': '2' })).body).toMatchObject({
      status: 'started',
    });
    await caughtUp();
    const parked = (await status()).parked.find((s) => s.streamId === p.taskId);
    expect(parked).toMatchObject({ count: 2 });
    const letters = (await cli('dlq', 'list', '--stream', p.taskId)) as {
      id: number;
      reason: string;
      errorCode: string;
      aggregateVersion: number;
    }[];
    expect(letters.map((l) => [l.aggregateVersion, l.reason, l.errorCode])).toEqual([
      [2, 'UNDECODABLE', 'NOT_WIRE_FORMAT'],
      [3, 'PARKED_BEHIND', 'PARKED_BEHIND'],
    ]);
    // A reader asking for the parked version gets a clear 503 with Retry-After, not stale data.
    const behind = await fetch(`${query.url}/tasks/${p.taskId}?minVersion=2`, {
      headers: { authorization: `Bearer ${await devToken(owner)}` },
    });
    expect(behind.status).toBe(503);
    expect(behind.headers.get('retry-after')).toBe('1');
    expect(await behind.json()).toMatchObject({
      code: 'READ_MODEL_BEHIND',
      behind: [{ taskId: p.taskId, minVersion: 2, currentVersion: 1 }],
    });

    const fix = join(mkdtempSync(join(tmpdir(), 'fix-')), 'value.bin');
    writeFileSync(fix, intended!.value!);
    const [result] = (await cli('dlq', 'redrive', String(letters[0]!.id), '--value-file', fix)) as {
      released: number;
      stillParked: number;
    }[];
    expect(result).toMatchObject({ released: 2, stillParked: 0 });
    expect((await api(owner, `/tasks/${p.taskId}`, { 'X-Min-Version': '3' })).body).toMatchObject({
      status: 'completed',
      version: 3,
    });
    expect((await status()).parked).toEqual([]);
    await expectReplayed();
  });

  it('survives kill -9 mid-batch: after a restart no event is missing and none applied twice', async () => {
    const applied = async () =>
      Number(
        (await queryPool.query<{ n: string }>('SELECT coalesce(sum(version), 0) AS n FROM stream_checkpoints')).rows[0]
          ?.n,
      );
    const before = await applied();
    const tasks = Array.from({ length: 2000 }, (_, i) => taskEventsFor(randomUUID(), `crowd-${run}-${i % 40}`));
    const burst = [
      ...tasks.map((t) => t.created()),
      ...tasks.flatMap((t, i) =>
        i % 3 === 0 ? [t.started(), t.completed()] : i % 3 === 1 ? [t.abandoned()] : [t.updated({ title: 'x' })],
      ),
    ];
    // Kill it while it is applying: some of the burst is committed, some is in flight, some not yet produced.
    let killedAt: number | undefined;
    for (let i = 0; i < burst.length; i += 250) {
      await topic.append(...burst.slice(i, i + 250));
      const done = (await applied()) - before;
      if (killedAt === undefined && done > 0) {
        await projector.kill();
        killedAt = done;
      }
    }
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(burst.length);
    projector = await startProjector();
    await caughtUp();
    expect((await applied()) - before).toBe(burst.length);
    await expectReplayed(); // statistics are deltas: an event applied twice would show here
  });

  async function snapshot() {
    const views: Record<string, unknown> = {};
    for (const id of topic.history.keys()) views[id] = await reader.findTask(id);
    return views;
  }

  async function resetGroup(groupId: string) {
    const admin = topic.kafka.admin();
    await admin.connect();
    // The group may take a moment to notice its member left.
    await eventually(() => admin.resetOffsets({ groupId, topic: topic.topic, earliest: true }), 30_000);
    await admin.disconnect();
  }
});

async function metric(app: AppProcess, name: string): Promise<number> {
  const text = await (await fetch(`${app.managementUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}
