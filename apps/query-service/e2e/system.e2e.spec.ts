import { createKafka } from '@cqrs/messaging';
import { migrateEventStore } from '@cqrs/event-store';
import { evolve, initialState, type Task, type TaskEvent } from '@cqrs/tasks-domain';
import {
  TaskReadRepository,
  userTaskStats,
  emptyCounts,
  type StatusCounts,
  type TaskView,
} from '@cqrs/tasks-read-model';
import { createReadModelTestDatabase, type ReadModelTestDatabase } from '@cqrs/tasks-read-model/testing';
import {
  createThrowawayDatabase,
  devToken,
  getTestInfra,
  registerSchemas,
  startApp,
  type AppProcess,
  type ThrowawayDatabase,
} from '@cqrs/testing';
import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';

// The whole system as real processes on the real stack: HTTP commands → command-service (event
// store + outbox, one transaction) → outbox-relay (logical replication → Kafka) → projector
// (read model) → query-service. Every read right after a write must see it (read-your-writes),
// and after any sequence of commands the read models must equal a replay of the event store.
describe('the whole system: commands in, read models out', () => {
  const run = randomUUID().slice(0, 8);
  const ADMIN = `admin-${run}`;
  let write: ThrowawayDatabase;
  let read: ReadModelTestDatabase;
  const apps: Record<string, AppProcess> = {};
  let queryPool: Pool;
  let reader: TaskReadRepository;

  beforeAll(async () => {
    const infra = await getTestInfra();
    write = await createThrowawayDatabase(infra.postgres.adminUrl, 'sys_write');
    await migrateEventStore(write.url);
    await registerSchemas(infra.schemaRegistry.url);
    read = await createReadModelTestDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerReadUrl,
      projectorUrl: infra.postgres.readUrl,
      queryUrl: infra.postgres.queryUrl,
      prefix: 'sys_read',
    });
    // A topic of this run's own: the relay routes `${aggregatetype}` into it.
    const topic = `e2e.sys${run}.tasks.task.events`;
    const kafka = createKafka({ clientId: 'system-e2e', ...infra.kafka });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    await admin.disconnect();
    const kafkaEnv = {
      KAFKA_BROKERS: infra.kafka.brokers.join(','),
      SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
      LOG_LEVEL: 'warn',
    };
    const started = await Promise.all([
      startApp('command-service', { ...kafkaEnv, DATABASE_URL: write.url }),
      startApp('outbox-relay', {
        ...kafkaEnv,
        DATABASE_URL: write.url,
        OUTBOX_SLOT_NAME: `sys_${run}`,
        OUTBOX_TOPIC_REPLACEMENT: `e2e.sys${run}.\${aggregatetype}.events`,
      }),
      startApp('projector', {
        ...kafkaEnv,
        DATABASE_URL: read.projectorUrl,
        MIGRATIONS_READ_DATABASE_URL: read.ownerUrl,
        PROJECTOR_TOPICS: topic,
        PROJECTOR_GROUP_PREFIX: `sys-projector-${run}`,
      }),
      startApp('query-service', { ...kafkaEnv, DATABASE_URL: read.queryUrl }),
    ]);
    for (const app of started) apps[app.name] = app;
    queryPool = new Pool({ connectionString: read.queryUrl, max: 2 });
    reader = new TaskReadRepository(queryPool);
  });

  afterAll(async () => {
    await Promise.all(Object.values(apps).map((app) => app.stop()));
    await queryPool?.end();
    await read?.drop();
    await write?.drop();
  });

  // Each user's token from the stack's development issuer, fetched once; the owner of a task is
  // the user who created it, and only they (or an admin) read it.
  const tokens = new Map<string, Promise<string>>();
  const auth = async (user: string) => {
    if (!tokens.has(user)) tokens.set(user, devToken(user, { roles: user === ADMIN ? ['admin'] : [] }));
    return { authorization: `Bearer ${await tokens.get(user)}` };
  };
  const command = async (user: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(apps['command-service']!.url + path, {
      method,
      headers: { 'content-type': 'application/json', ...(await auth(user)) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as { taskId: string; version: number; code?: string };
    if (response.status >= 300)
      throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(json)}`);
    return json;
  };
  const query = async (user: string, path: string, minVersion?: string) => {
    const response = await fetch(apps['query-service']!.url + path, {
      headers: { ...(await auth(user)), ...(minVersion ? { 'X-Min-Version': minVersion } : {}) },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('creates, updates, starts, completes, abandons and deletes tasks; every read right after a write sees it', async () => {
    const owner = `owner-${run}`;
    const as = (method: string, path: string, body?: unknown) => command(owner, method, path, body);
    const read = (path: string, minVersion?: string) => query(owner, path, minVersion);
    const created = await as('POST', '/tasks', { title: 'Ship the read side', priority: 'HIGH' });
    expect((await read(`/tasks/${created.taskId}`, String(created.version))).body).toMatchObject({
      title: 'Ship the read side',
      status: 'open',
      version: 1,
    });

    const updated = await as('PATCH', `/tasks/${created.taskId}`, {
      description: 'projector and queries',
      dueDate: '2026-12-31',
    });
    expect((await read(`/tasks/${created.taskId}`, String(updated.version))).body).toMatchObject({
      description: 'projector and queries',
      dueDate: '2026-12-31',
    });

    const started = await as('POST', `/tasks/${created.taskId}/start`);
    expect((await read('/me/tasks?status=started', `${created.taskId}:${started.version}`)).body).toMatchObject({
      items: [{ taskId: created.taskId }],
    });

    const completed = await as('POST', `/tasks/${created.taskId}/complete`);
    expect((await read(`/users/${owner}/stats`, `${created.taskId}:${completed.version}`)).body).toMatchObject({
      total: 1,
      byStatus: { completed: 1 },
      completionRate: 1,
    });

    const other = await as('POST', '/tasks', { title: 'Write the docs' });
    const abandoned = await as('POST', `/tasks/${other.taskId}/abandon`, { reason: 'merged into the first' });
    expect((await read(`/tasks/${other.taskId}`, String(abandoned.version))).body).toMatchObject({
      status: 'abandoned',
      abandonReason: 'merged into the first',
    });

    const deleted = await as('DELETE', `/tasks/${other.taskId}`);
    expect(await read(`/tasks/${other.taskId}`, String(deleted.version))).toMatchObject({
      status: 404,
      body: { code: 'TASK_NOT_FOUND' },
    });
    expect((await read(`/users/${owner}/stats`, `${other.taskId}:${deleted.version}`)).body).toMatchObject({
      total: 1,
      deleted: 1,
      completionRate: 1,
    });
  });

  it('after any sequence of commands, every read model equals a replay of the event store', async () => {
    // A seeded pseudo-random mix of commands over a few owners, some of them rejected by the domain.
    let seed = 42;
    const random = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
    const owners = [`a-${run}`, `b-${run}`, `c-${run}`];
    const ids: string[] = [];
    const ownerOf = new Map<string, string>();
    const last = new Map<string, number>();
    for (let i = 0; i < 150; i++) {
      const roll = random(10);
      try {
        if (ids.length === 0 || roll < 3) {
          const owner = owners[random(3)]!;
          const r = await command(owner, 'POST', '/tasks', {
            title: `task ${i}`,
            ...(random(2) ? { dueDate: '2027-01-01' } : {}),
          });
          ids.push(r.taskId);
          ownerOf.set(r.taskId, owner);
          last.set(r.taskId, r.version);
          continue;
        }
        const id = ids[random(ids.length)]!;
        const owner = ownerOf.get(id)!;
        const r =
          roll === 3
            ? await command(
                owner,
                'PATCH',
                `/tasks/${id}`,
                random(2) ? { title: `renamed ${i}` } : { description: random(2) ? `note ${i}` : null },
              )
            : roll < 6
              ? await command(owner, 'POST', `/tasks/${id}/start`)
              : roll < 8
                ? await command(owner, 'POST', `/tasks/${id}/complete`)
                : roll === 8
                  ? await command(owner, 'POST', `/tasks/${id}/abandon`, { reason: `reason ${i}` })
                  : await command(owner, 'DELETE', `/tasks/${id}`);
        last.set(id, r.version);
      } catch (error) {
        // 404 / 409: the command does not fit the task's status; the domain said no, nothing was written.
        if (!/answered (404|409)/.test((error as Error).message)) throw error;
      }
    }
    // Wait for the last version of every task through the query side's read-your-writes.
    for (const [id, version] of last)
      expect([200, 404]).toContain((await query(ADMIN, `/tasks/${id}`, String(version))).status);

    const replayed = await replayEventStore(write.url);
    const counts = new Map<string, StatusCounts>();
    for (const [id, view] of replayed) {
      expect(await reader.findTask(id)).toEqual(view);
      const c = counts.get(view.ownerId) ?? emptyCounts();
      c[view.status] += 1;
      counts.set(view.ownerId, c);
    }
    for (const owner of owners)
      expect(await reader.userStats(owner)).toEqual(userTaskStats(owner, counts.get(owner) ?? emptyCounts()));
    expect(replayed.size).toBeGreaterThan(10);
  });
});

/** Every stream of the event store folded with the domain's `evolve`: what the read model must equal. */
async function replayEventStore(url: string): Promise<Map<string, TaskView>> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{
      stream_id: string;
      version: string;
      type: TaskEvent['type'];
      data: TaskEvent['data'];
    }>(`SELECT stream_id, version, type, data FROM events ORDER BY stream_id, version`);
    const states = new Map<string, { state: Task; version: number }>();
    for (const row of rows) {
      const current = states.get(row.stream_id) ?? { state: initialState(), version: 0 };
      states.set(row.stream_id, {
        state: evolve(current.state, { type: row.type, data: row.data } as TaskEvent),
        version: Number(row.version),
      });
    }
    const views = new Map<string, TaskView>();
    for (const [id, { state, version }] of states) if (state.status !== 'none') views.set(id, { ...state, version });
    return views;
  } finally {
    await client.end();
  }
}
