import { migrateEventStore } from '@cqrs/event-store';
import { createThrowawayDatabase, type ThrowawayDatabase } from '@cqrs/event-store/testing';
import { createHttpApp } from '@cqrs/http';
import { createKafka } from '@cqrs/messaging/consumer';
import { createReadTestDatabase, type ReadTestDatabase } from '@cqrs/projection/testing';
import { TaskReadRepository } from '@cqrs/tasks-read-model';
import { devToken, eventually, getTestInfra, withClient } from '@cqrs/testing';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { TaskTopic, taskEventsFor } from '../../e2e/support/task-topic';
import { AppModule } from '../app.module';
import { loadProjectorConfig } from '../config';
import { PROJECTOR_CONTEXTS } from '../contexts';

// The admin API as an operator's console calls it: the projector app in-process (its projections
// running on a fresh read database, topic and consumer groups), the stack's real OIDC issuer,
// Kafka, registry and PostgreSQL.
describe('projector admin API (/admin/cqrs)', () => {
  const run = randomUUID().slice(0, 8);
  const slot = `test_admin_${run}`;
  let readDb: ReadTestDatabase;
  let writeDb: ThrowawayDatabase;
  let queryPool: Pool;
  let reader: TaskReadRepository;
  let topic: TaskTopic;
  let app: INestApplication;
  let base: string;
  let streamTopicPrefix: string;
  let env: Record<string, string | undefined>;
  const tokens: Record<'admin' | 'user', string> = { admin: '', user: '' };

  beforeAll(async () => {
    const infra = await getTestInfra();
    readDb = await createReadTestDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerReadUrl,
      projectorUrl: infra.postgres.readUrl,
      queryUrl: infra.postgres.queryUrl,
      prefix: 'proj_test',
      migrations: PROJECTOR_CONTEXTS.map((c) => c.readModel),
    });
    writeDb = await createThrowawayDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerWriteUrl,
      appRoles: [new URL(infra.postgres.readUrl).username],
    });
    await migrateEventStore(writeDb.url);
    // A slot of the relay's kind, on the test's own store database (the relay creates it as its role).
    await withClient(writeDb.urlAs(infra.postgres.adminUrl), (c) =>
      c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]),
    );
    queryPool = new Pool({ connectionString: readDb.queryUrl, max: 2 });
    reader = new TaskReadRepository(queryPool);
    topic = await TaskTopic.create(infra.kafka.brokers, infra.schemaRegistry, `test.admin-api.${run}.events`, 2);
    streamTopicPrefix = `test.admin-api-${run}.`;
    env = {
      ...process.env,
      DATABASE_URL: readDb.projectorUrl,
      ADMIN_REBUILD_DATABASE_URL: readDb.ownerUrl,
      EVENT_STORE_DATABASE_URL: writeDb.urlAs(infra.postgres.eventStoreUrl),
      KAFKA_BROKERS: infra.kafka.brokers.join(','),
      SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
      PROJECTOR_TOPICS: topic.topic,
      PROJECTOR_GROUP_PREFIX: `test-admin-api-${run}`,
      PROJECTOR_STREAM_TOPIC_PREFIX: streamTopicPrefix,
      PROJECTOR_STREAM_GROUP_PREFIX: `test-admin-api-${run}-`,
      PROJECTOR_TOPIC_PARTITIONS: '1',
      PROJECTOR_GENERATION_CHECK_MS: '200',
      PROJECTOR_GAP_RETRIES: '0',
      PROJECTOR_RETRY_MIN_MS: '20',
      PROJECTOR_RETRY_MAX_MS: '200',
      OIDC_ISSUER_URL: infra.oidc.issuerUrl,
      OIDC_AUDIENCE: infra.oidc.audience,
      OUTBOX_SLOT_NAME: slot,
      LOG_LEVEL: 'silent',
    };
    app = await startProjector();
    base = await app.getUrl();
    tokens.admin = await devToken(`ops-${run}`, { roles: ['admin'] });
    tokens.user = await devToken(`alice-${run}`);
  });

  /** A projector instance of this test's configuration, in-process, listening on a free port. */
  async function startProjector(overrides: Record<string, string> = {}): Promise<INestApplication> {
    const root = AppModule.forRoot(loadProjectorConfig({ ...env, ...overrides }));
    const instance = await createHttpApp(root.module, {
      service: 'projector',
      version: 'test',
      description: '',
      dynamicModule: root,
      managementPort: false,
      bearerAuth: true,
    });
    await instance.listen(0, '127.0.0.1');
    return instance;
  }

  afterAll(async () => {
    await app?.close();
    await topic?.close();
    await queryPool?.end();
    const infra = await getTestInfra();
    const kafka = createKafka({ clientId: 'admin-api-test-cleanup', ...infra.kafka });
    const admin = kafka.admin();
    await admin.connect();
    const created = (await admin.listTopics()).filter(
      (t) => t.startsWith(streamTopicPrefix) || t.startsWith(topic?.topic ?? '\0'),
    );
    await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.disconnect();
    await readDb?.drop();
    await writeDb?.drop();
  });

  interface Answer {
    status: number;
    type: string | null;
    // Answers are checked field by field against what the test expects.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    body: any;
  }

  async function call(
    method: string,
    path: string,
    options: { token?: string | null; body?: unknown; raw?: string } = {},
  ): Promise<Answer> {
    const token = options.token === undefined ? tokens.admin : options.token;
    const headers: Record<string, string> = {};
    if (token) headers['authorization'] = `Bearer ${token}`;
    if (options.body !== undefined || options.raw !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(base + path, {
      method,
      headers,
      body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    });
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      body: text ? JSON.parse(text) : null,
    };
  }

  const expectProblem = (answer: Answer, status: number, code: string) => {
    expect({ status: answer.status, code: answer.body?.code }).toEqual({ status, code });
    expect(answer.type).toContain('application/problem+json');
  };

  const tasks = () => call('GET', '/admin/cqrs/projections/tasks').then((a) => a.body);

  it('needs a bearer token (401) and the admin role (403); health, metrics and the document need none', async () => {
    expectProblem(await call('GET', '/admin/cqrs/projections', { token: null }), 401, 'AUTHENTICATION_REQUIRED');
    expectProblem(await call('GET', '/admin/cqrs/projections', { token: 'not-a-jwt' }), 401, 'INVALID_TOKEN');
    for (const [method, path] of [
      ['GET', '/admin/cqrs/projections'],
      ['POST', '/admin/cqrs/projections/tasks/pause'],
      ['POST', '/admin/cqrs/projections/tasks/rebuilds'],
      ['DELETE', '/admin/cqrs/dead-letters/1'],
      ['POST', '/admin/cqrs/reconciliations'],
      ['GET', '/admin/cqrs/relay'],
    ] as const) {
      expectProblem(await call(method, path, { token: tokens.user }), 403, 'FORBIDDEN');
    }
    expect((await call('GET', '/health/live', { token: null })).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    const document = await call('GET', '/openapi.json', { token: null });
    expect(document.status).toBe(200);
    const operations = Object.values(document.body.paths as Record<string, Record<string, { operationId: string }>>)
      .flatMap((item) => Object.values(item))
      .map((o) => o.operationId);
    expect(operations).toEqual(
      expect.arrayContaining([
        'listProjections',
        'getProjection',
        'pauseProjection',
        'resumeProjection',
        'startRebuild',
        'getCurrentRebuild',
        'cancelRebuild',
        'listDeadLetters',
        'getDeadLetter',
        'redriveDeadLetter',
        'discardDeadLetter',
        'startReconciliation',
        'getLatestReconciliation',
        'getRelayStatus',
      ]),
    );
    expect(document.body.paths['/admin/cqrs/projections/{name}/rebuilds'].post.requestBody.required).toBe(false);
    const pause = document.body.paths['/admin/cqrs/projections/{name}/pause'].post;
    expect(Object.keys(pause.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404']));
    expect(document.body.components.schemas.ProjectionDto.required).toEqual(
      expect.arrayContaining(['name', 'kind', 'state', 'partitions', 'totalLag', 'parked']),
    );
  });

  it('reports every projection, and the tasks projection’s partitions once it projected events', async () => {
    const a = taskEventsFor(randomUUID(), `alice-${run}`);
    await topic.append(a.created(), a.started());
    await eventually(async () => expect((await reader.findTask(a.taskId))?.status).toBe('started'), 30_000);
    await eventually(async () => {
      const t = await tasks();
      expect(t).toMatchObject({
        name: 'tasks',
        kind: 'generations',
        state: 'running',
        activeGeneration: 1,
        totalLag: 0,
      });
    }, 30_000);
    const t = await tasks();
    expect(t.partitions).toHaveLength(2);
    expect(t.parked).toEqual({ records: 0, streams: 0 });
    expect(t.deadLetterTopics).toEqual([`${topic.topic}.dlq`]);
    const applied = t.partitions.filter((p: { lastAppliedOffset: string | null }) => p.lastAppliedOffset !== null);
    expect(applied).toHaveLength(1); // one task: one partition
    expect(applied[0]).toMatchObject({ lag: 0, committedOffset: '2', highWatermark: '2', lastAppliedOffset: '1' });

    const list = await call('GET', '/admin/cqrs/projections');
    expect(list.status).toBe(200);
    expect(list.body.projections.map((p: { name: string; kind: string }) => [p.name, p.kind])).toEqual([
      ['tasks', 'generations'],
      ['projects', 'stream'],
      ['projects-task-progress', 'stream'],
    ]);
    await eventually(async () => {
      const projects = await call('GET', '/admin/cqrs/projections/projects');
      expect(projects.body).toMatchObject({
        kind: 'stream',
        state: 'running',
        activeGeneration: null,
        parked: { records: null, streams: 0 },
        topics: [`${streamTopicPrefix}projects.project.events`],
      });
    }, 30_000);
  });

  it('pauses a projection on every instance (their consumers leave the group) and resumes it to catch up', async () => {
    // A second replica: the pause asked of one instance holds for both.
    const replica = await startProjector();
    try {
      await eventually(async () => expect(await tasks()).toMatchObject({ state: 'running', members: 2 }), 60_000);
      const paused = await call('POST', '/admin/cqrs/projections/tasks/pause');
      expect(paused.status).toBe(200);
      expect(paused.body).toMatchObject({ name: 'tasks', state: 'paused', controlledBy: `ops-${run}` });
      await eventually(async () => expect(await tasks()).toMatchObject({ state: 'paused', members: 0 }), 30_000);
      // Still ready: the admin API must stay reachable to resume it.
      expect((await call('GET', '/health/ready', { token: null })).status).toBe(200);

      const b = taskEventsFor(randomUUID(), `bob-${run}`);
      await topic.append(b.created());
      await eventually(async () => expect((await tasks()).totalLag).toBe(1), 10_000);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await reader.findTask(b.taskId)).toBeUndefined();

      // Resumed through the other replica: both start again, and the event is applied.
      const resumed = await fetch(`${await replica.getUrl()}/admin/cqrs/projections/tasks/resume`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.admin}` },
      });
      expect(resumed.status).toBe(200);
      expect(((await resumed.json()) as { state: string }).state).not.toBe('paused');
      await eventually(async () => expect((await reader.findTask(b.taskId))?.status).toBe('open'), 30_000);
      await eventually(
        async () => expect(await tasks()).toMatchObject({ state: 'running', totalLag: 0, members: 2 }),
        60_000,
      );
    } finally {
      await replica.close();
    }
    await eventually(async () => expect(await tasks()).toMatchObject({ state: 'running', members: 1 }), 60_000);
  });

  it('lists, shows, refuses out of order, redrives (with a corrected value) and discards parked records', async () => {
    const poison = Buffer.from([0, 0, 0, 0, 99, 1]);
    // Task c: v2 arrives undecodable, v3 parks behind it.
    const c = taskEventsFor(randomUUID(), `carol-${run}`);
    await topic.append(c.created());
    const [good] = await topic.withhold(c.started());
    await topic.sendRaw({ ...good!, value: poison });
    await topic.append(c.completed());
    await eventually(async () => {
      const parked = await call('GET', `/admin/cqrs/dead-letters?streamId=${c.taskId}`);
      expect(parked.body.deadLetters).toHaveLength(2);
    }, 30_000);
    const { deadLetters } = (await call('GET', `/admin/cqrs/dead-letters?streamId=${c.taskId}&projection=tasks`)).body;
    const [head, behind] = deadLetters;
    expect(head).toMatchObject({
      projection: 'tasks',
      topic: topic.topic,
      streamId: c.taskId,
      aggregateVersion: 2,
      reason: 'UNKNOWN_SCHEMA', // no schema of id 99 in the registry
    });
    expect(behind).toMatchObject({ streamId: c.taskId, aggregateVersion: 3, reason: 'PARKED_BEHIND' });
    expect((await tasks()).parked).toEqual({ records: 2, streams: 1 });

    const shown = await call('GET', `/admin/cqrs/dead-letters/${head.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ id: head.id, key: c.taskId, value: poison.toString('base64') });
    expect(shown.body.headers).toMatchObject({ eventType: 'TaskStarted' });

    expectProblem(await call('POST', `/admin/cqrs/dead-letters/${behind.id}/redrive`), 409, 'DEAD_LETTER_NOT_HEAD');
    expectProblem(await call('DELETE', `/admin/cqrs/dead-letters/${behind.id}`), 409, 'DEAD_LETTER_NOT_HEAD');
    expectProblem(await call('GET', '/admin/cqrs/dead-letters/999999999'), 404, 'DEAD_LETTER_NOT_FOUND');
    expectProblem(await call('POST', '/admin/cqrs/dead-letters/999999999/redrive'), 404, 'DEAD_LETTER_NOT_FOUND');
    expectProblem(await call('DELETE', '/admin/cqrs/dead-letters/999999999'), 404, 'DEAD_LETTER_NOT_FOUND');

    // As it is, it fails again and stays parked; with the corrected value, the stream catches up.
    const again = await call('POST', `/admin/cqrs/dead-letters/${head.id}/redrive`);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ streamId: c.taskId, released: 0, stillParked: 2 });
    expect(again.body.error).toMatchObject({ reason: 'UNKNOWN_SCHEMA' });
    const fixed = await call('POST', `/admin/cqrs/dead-letters/${head.id}/redrive`, {
      body: { value: (good!.value as Buffer).toString('base64') },
    });
    expect(fixed.body).toEqual({ streamId: c.taskId, released: 2, stillParked: 0, error: null });
    expect((await reader.findTask(c.taskId))?.status).toBe('completed');

    // Task d: its poison is discarded; the record behind it stays parked until dealt with.
    const d = taskEventsFor(randomUUID(), `dave-${run}`);
    await topic.append(d.created());
    const [dGood] = await topic.withhold(d.started());
    await topic.sendRaw({ ...dGood!, value: poison });
    await topic.append(d.completed());
    let parked: { id: number }[] = [];
    await eventually(async () => {
      parked = (await call('GET', `/admin/cqrs/dead-letters?streamId=${d.taskId}`)).body.deadLetters;
      expect(parked).toHaveLength(2);
    }, 30_000);
    const discarded = await call('DELETE', `/admin/cqrs/dead-letters/${parked[0]!.id}`);
    expect(discarded.status).toBe(200);
    expect(discarded.body).toEqual({ id: parked[0]!.id, streamId: d.taskId, stillParked: 1 });
    expectProblem(await call('GET', `/admin/cqrs/dead-letters/${parked[0]!.id}`), 404, 'DEAD_LETTER_NOT_FOUND');
    const left = (await call('GET', `/admin/cqrs/dead-letters?streamId=${d.taskId}`)).body.deadLetters;
    expect(left.map((r: { id: number }) => r.id)).toEqual([parked[1]!.id]);
    expect((await reader.findTask(d.taskId))?.status).toBe('open');
    expect((await call('DELETE', `/admin/cqrs/dead-letters/${parked[1]!.id}`)).body.stillParked).toBe(0);
  });

  it('answers 409 where a stream projection has no such operation', async () => {
    expectProblem(
      await call('POST', '/admin/cqrs/projections/projects/rebuilds', { body: {} }),
      409,
      'STREAM_PROJECTION_UNSUPPORTED',
    );
    expectProblem(
      await call('GET', '/admin/cqrs/projections/projects/rebuilds/current'),
      409,
      'STREAM_PROJECTION_UNSUPPORTED',
    );
    const dlq = await call('GET', '/admin/cqrs/dead-letters?projection=projects-task-progress');
    expectProblem(dlq, 409, 'STREAM_PROJECTION_UNSUPPORTED');
    expect(dlq.body.detail).toContain('.dlq');
  });

  it('rebuilds in the background with progress, one at a time, and cancels a rebuild', async () => {
    expectProblem(await call('GET', '/admin/cqrs/projections/tasks/rebuilds/current'), 404, 'REBUILD_NOT_FOUND');
    const started = await call('POST', '/admin/cqrs/projections/tasks/rebuilds', { body: { source: 'kafka' } });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ projection: 'tasks', source: 'kafka', state: 'running', finishedAt: null });
    expectProblem(await call('POST', '/admin/cqrs/projections/tasks/rebuilds', { body: {} }), 409, 'REBUILD_RUNNING');
    const phases = new Set<string>();
    let done: Answer | undefined;
    await eventually(
      async () => {
        done = await call('GET', '/admin/cqrs/projections/tasks/rebuilds/current');
        phases.add(done.body.phase);
        expect(done.body.state).not.toBe('running');
      },
      120_000,
      100,
    );
    expect(done!.body).toMatchObject({
      id: started.body.id,
      state: 'succeeded',
      phase: 'done',
      generation: 2,
      error: null,
      report: { generation: 2, previous: 1, source: 'kafka' },
    });
    expect(done!.body.eventsDone).toBe(done!.body.report.events);
    expect(done!.body.report.events).toBeGreaterThan(0);
    expect(phases.size).toBeGreaterThan(1);
    await eventually(
      async () => expect(await tasks()).toMatchObject({ activeGeneration: 2, state: 'running' }),
      30_000,
    );

    const second = await call('POST', '/admin/cqrs/projections/tasks/rebuilds', { body: { source: 'kafka' } });
    expect(second.status).toBe(202);
    const cancelled = await call('DELETE', '/admin/cqrs/projections/tasks/rebuilds/current');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: second.body.id, state: 'cancelled', report: null });
    expect(cancelled.body.error).toContain('interrupted');
    expectProblem(await call('DELETE', '/admin/cqrs/projections/tasks/rebuilds/current'), 409, 'REBUILD_NOT_RUNNING');
    expect((await tasks()).activeGeneration).toBe(2);
  });

  it('runs a reconciliation in the background and keeps its report', async () => {
    expectProblem(await call('GET', '/admin/cqrs/reconciliations/latest'), 404, 'RECONCILIATION_NOT_FOUND');
    const started = await call('POST', '/admin/cqrs/reconciliations', { body: { settleMs: 0 } });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ state: 'running', repair: false, report: null });
    let latest: Answer | undefined;
    await eventually(async () => {
      latest = await call('GET', '/admin/cqrs/reconciliations/latest');
      expect(latest.body.state).not.toBe('running');
    }, 120_000);
    // The store of this test is empty: every projected task is an orphan of the read model.
    expect(latest!.body).toMatchObject({ id: started.body.id, state: 'succeeded', error: null });
    expect(latest!.body.report.ok).toBe(false);
    expect(latest!.body.report.summary).toMatchObject({ generation: 2 });
    expect(latest!.body.report.differences.length).toBeGreaterThan(0);
  });

  it('reports the relay’s slot, leader and standbys as PostgreSQL sees them', async () => {
    const infra = await getTestInfra();
    // A relay replica on standby: its control connection, named as the relay names it.
    const standby = new Client({
      connectionString: writeDb.urlAs(infra.postgres.eventStoreUrl),
      application_name: `outbox-relay@test-${run}:1-control`,
    });
    await standby.connect();
    try {
      const relay = await call('GET', '/admin/cqrs/relay');
      expect(relay.status).toBe(200);
      expect(relay.body).toMatchObject({
        slotName: slot,
        currentLsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/),
        slot: { plugin: 'pgoutput', active: false, walStatus: 'reserved' },
        leader: null,
      });
      expect(relay.body.slot.lagBytes).toBeGreaterThanOrEqual(0);
      expect(relay.body.standbys).toContainEqual({ name: `outbox-relay@test-${run}:1`, pid: expect.any(Number) });
    } finally {
      await standby.end();
    }
  });

  it('answers hostile input with 400 problem+json, never a 500', async () => {
    const cases: [string, string, { body?: unknown; raw?: string }?][] = [
      ['GET', '/admin/cqrs/projections/Not%20A%20Name'],
      ['GET', `/admin/cqrs/projections/${'x'.repeat(101)}`],
      ['POST', '/admin/cqrs/projections/tasks%00/pause'],
      ['GET', '/admin/cqrs/dead-letters/abc'],
      ['GET', '/admin/cqrs/dead-letters/0'],
      ['GET', '/admin/cqrs/dead-letters/-1'],
      ['GET', '/admin/cqrs/dead-letters/1e3'],
      ['GET', '/admin/cqrs/dead-letters/99999999999999999999'],
      ['POST', '/admin/cqrs/dead-letters/1.5/redrive'],
      ['DELETE', '/admin/cqrs/dead-letters/%20'],
      ['GET', '/admin/cqrs/dead-letters?limit=0'],
      ['GET', '/admin/cqrs/dead-letters?limit=1001'],
      ['GET', '/admin/cqrs/dead-letters?limit=abc'],
      ['GET', '/admin/cqrs/dead-letters?limit=1e2'],
      ['GET', '/admin/cqrs/dead-letters?limit=1&limit=2'],
      ['GET', '/admin/cqrs/dead-letters?projection=NOPE!'],
      ['GET', '/admin/cqrs/dead-letters?streamId=%20padded'],
      ['GET', '/admin/cqrs/dead-letters?streamId=a%07b'],
      ['GET', `/admin/cqrs/dead-letters?streamId=${'s'.repeat(201)}`],
      ['GET', '/admin/cqrs/dead-letters?unknown=1'],
      ['POST', '/admin/cqrs/projections/tasks/rebuilds', { body: { source: 'disk' } }],
      ['POST', '/admin/cqrs/projections/tasks/rebuilds', { body: { source: 'kafka', extra: true } }],
      ['POST', '/admin/cqrs/projections/tasks/rebuilds', { body: [] }],
      ['POST', '/admin/cqrs/projections/tasks/rebuilds', { raw: '{"source":' }],
      ['POST', '/admin/cqrs/projections/tasks/rebuilds', { raw: '"kafka"' }],
      ['POST', '/admin/cqrs/reconciliations', { body: { settleMs: -1 } }],
      ['POST', '/admin/cqrs/reconciliations', { body: { settleMs: 600_001 } }],
      ['POST', '/admin/cqrs/reconciliations', { body: { repair: 'yes' } }],
      ['POST', '/admin/cqrs/dead-letters/1/redrive', { body: { value: 'not base64!' } }],
      ['POST', '/admin/cqrs/dead-letters/1/redrive', { body: { value: 42 } }],
    ];
    for (const [method, path, options] of cases) {
      const answer = await call(method, path, options);
      expect({ method, path, status: answer.status, type: answer.type }).toEqual({
        method,
        path,
        status: 400,
        type: expect.stringContaining('application/problem+json'),
      });
      expect(['VALIDATION_FAILED', 'MALFORMED_JSON', 'BAD_REQUEST']).toContain(answer.body.code);
    }
    expectProblem(await call('GET', '/admin/cqrs/projections/no-such-projection'), 404, 'PROJECTION_NOT_FOUND');
    expectProblem(await call('POST', '/admin/cqrs/projections/no-such-projection/pause'), 404, 'PROJECTION_NOT_FOUND');
    expectProblem(
      await call('GET', '/admin/cqrs/dead-letters?projection=no-such-projection'),
      404,
      'PROJECTION_NOT_FOUND',
    );
  });
  it('answers 503 when a database cannot answer, and 409 for a rebuild without the owner role', async () => {
    // Another instance: no owner role for rebuilds, and an event store nobody listens for.
    const other = await startProjector({
      ADMIN_REBUILD_DATABASE_URL: '',
      EVENT_STORE_DATABASE_URL: 'postgres://cqrs_projector:cqrs@127.0.0.1:1/cqrs_write',
    });
    try {
      const url = await other.getUrl();
      const ask = async (method: string, path: string) => {
        const response = await fetch(url + path, { method, headers: { authorization: `Bearer ${tokens.admin}` } });
        return { status: response.status, type: response.headers.get('content-type'), body: await response.json() };
      };
      const relay = await ask('GET', '/admin/cqrs/relay');
      expectProblem(relay, 503, 'DATABASE_UNAVAILABLE');
      expectProblem(await ask('POST', '/admin/cqrs/projections/tasks/rebuilds'), 409, 'REBUILD_NOT_ENABLED');
    } finally {
      await other.close();
    }
  });
});
