import { migrateEventStore } from '@cqrs/event-store';
import { createHttpApp } from '@cqrs/http';
import { AvroSerde, createSchemaRegistry } from '@cqrs/messaging';
import { tasksTaskEventsContracts } from '@cqrs/tasks-contracts';
import { createThrowawayDatabase, getTestInfra, registerSchemas, type ThrowawayDatabase } from '@cqrs/testing';
import type { INestApplication } from '@nestjs/common';
import { AppModule } from '../app.module';
import { loadCommandServiceConfig } from '../config';

// The write API over HTTP, in-process, against real Postgres and the real schema registry.
describe('command-service over HTTP', () => {
  let db: ThrowawayDatabase;
  let app: INestApplication;
  let base: string;
  let serde: AvroSerde;

  beforeAll(async () => {
    const infra = await getTestInfra();
    db = await createThrowawayDatabase(infra.postgres.adminUrl, 'cmd_http');
    await migrateEventStore(db.url);
    await registerSchemas(infra.schemaRegistry.url);
    serde = new AvroSerde({ registry: createSchemaRegistry({ url: infra.schemaRegistry.url }), contracts: tasksTaskEventsContracts });
    const config = loadCommandServiceConfig({
      DATABASE_URL: db.url,
      SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
      HTTP_BODY_LIMIT: '4kb',
      OUTBOX_DELETE_ROWS: 'false', // keep the rows so the test can read what CDC would publish
      SNAPSHOT_EVERY: '3',
      LOG_LEVEL: 'silent',
    });
    app = await createHttpApp(AppModule, { service: 'command-service', version: 'test', description: '', bodyLimit: config.HTTP_BODY_LIMIT, dynamicModule: AppModule.forRoot(config) });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  const create = (body: Record<string, unknown> = {}, headers?: Record<string, string>) =>
    send('POST', '/tasks', { ownerId: 'user-1', title: 'Write the docs', ...body }, headers);

  describe('the task lifecycle', () => {
    it('creates a task: 201, Location, ETag, and the stream version', async () => {
      const res = await create({ description: 'all of them', dueDate: '2026-12-31', priority: 'HIGH' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ taskId: expect.stringMatching(/^[0-9a-f-]{36}$/), version: 1 });
      expect(res.headers.get('location')).toBe(`/tasks/${res.body.taskId}`);
      expect(res.headers.get('etag')).toBe('"1"');
    });

    it('updates, starts and completes, each answering the next version', async () => {
      const { body } = await create();
      const id = body.taskId;
      expect((await send('PATCH', `/tasks/${id}`, { title: 'Write all the docs', dueDate: null })).body).toEqual({ taskId: id, version: 2 });
      expect((await send('POST', `/tasks/${id}/start`)).body).toEqual({ taskId: id, version: 3 });
      const done = await send('POST', `/tasks/${id}/complete`);
      expect(done.status).toBe(200);
      expect(done.body).toEqual({ taskId: id, version: 4 });
      expect(done.headers.get('etag')).toBe('"4"');
    });

    it('abandons with a reason and deletes; a deleted task is gone', async () => {
      const { body } = await create();
      const id = body.taskId;
      expect((await send('POST', `/tasks/${id}/abandon`, { reason: 'no longer needed' })).status).toBe(200);
      const other = (await create()).body.taskId;
      expect((await send('DELETE', `/tasks/${other}`)).body).toEqual({ taskId: other, version: 2 });
      const after = await send('POST', `/tasks/${other}/start`);
      expect(after.status).toBe(404);
      expect(after.body).toMatchObject({ code: 'TASK_NOT_FOUND', status: 404 });
    });

    it('refuses a transition the state does not allow with 409 INVALID_TRANSITION', async () => {
      const { body } = await create();
      const res = await send('POST', `/tasks/${body.taskId}/complete`);
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body).toMatchObject({ code: 'INVALID_TRANSITION', title: 'Conflict', taskStatus: 'open' });
    });

    it('answers 404 for a task that never existed', async () => {
      const res = await send('POST', '/tasks/6f1e1f5e-3a4b-4c5d-8e9f-0a1b2c3d4e5f/start');
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('TASK_NOT_FOUND');
    });
  });

  describe('the outbox', () => {
    it('holds one Avro row per event, in the Confluent wire format, with the trace context and headers', async () => {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const res = await create({ title: 'Traced' }, { traceparent, 'x-correlation-id': 'corr-1' });
      const [row] = await db.query<{ aggregatetype: string; aggregateid: string; type: string; payload: Buffer; aggregateversion: string; traceparent: string; correlationid: string }>(
        'SELECT * FROM outbox WHERE aggregateid = $1',
        [res.body.taskId],
      );
      expect(row).toMatchObject({ aggregatetype: 'tasks.task', type: 'TaskCreated', traceparent, correlationid: 'corr-1' });
      expect(Number(row!.aggregateversion)).toBe(1);
      expect(row!.payload[0]).toBe(0);
      const { value: decoded } = await serde.decode(row!.payload); // as a consumer would read it
      expect(decoded).toMatchObject({ aggregateId: res.body.taskId, aggregateVersion: 1, title: 'Traced', ownerId: 'user-1', priority: 'NORMAL', correlationId: 'corr-1' });
    });
  });

  describe('optimistic concurrency', () => {
    it('applies a command with a current If-Match and answers 412 VERSION_MISMATCH for a stale one', async () => {
      const id = (await create()).body.taskId;
      expect((await send('PATCH', `/tasks/${id}`, { title: 'v2' }, { 'if-match': '"1"' })).status).toBe(200);
      const stale = await send('PATCH', `/tasks/${id}`, { title: 'v3' }, { 'if-match': '"1"' });
      expect(stale.status).toBe(412);
      expect(stale.body.code).toBe('VERSION_MISMATCH');
    });

    it('lets exactly one of many concurrent starts win; the others get 409', async () => {
      const id = (await create()).body.taskId;
      const results = await Promise.all(Array.from({ length: 12 }, () => send('POST', `/tasks/${id}/start`)));
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      expect(results.filter((r) => r.status === 409).every((r) => r.body.code === 'INVALID_TRANSITION')).toBe(true);
      expect(results.filter((r) => r.status === 409)).toHaveLength(11);
      const versions = await db.query<{ version: string }>('SELECT version FROM events WHERE stream_id = $1 ORDER BY version', [id]);
      expect(versions.map((v) => Number(v.version))).toEqual([1, 2]);
    });
  });

  describe('idempotency', () => {
    it('replays the first response for a repeated key and body, appending nothing', async () => {
      const key = `key-${Date.now()}`;
      const first = await create({ title: 'Once' }, { 'idempotency-key': key });
      const again = await create({ title: 'Once' }, { 'idempotency-key': key });
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      const events = await db.query('SELECT 1 FROM events WHERE stream_id = $1', [first.body.taskId]);
      expect(events).toHaveLength(1);
      const tasksTitledOnce = await db.query("SELECT 1 FROM events WHERE type = 'TaskCreated' AND data->>'title' = 'Once'");
      expect(tasksTitledOnce).toHaveLength(1);
    });

    it('rejects the same key with a different body: 422 IDEMPOTENCY_KEY_REUSED', async () => {
      const key = `key-${Date.now()}-b`;
      await create({ title: 'First' }, { 'idempotency-key': key });
      const res = await create({ title: 'Second' }, { 'idempotency-key': key });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });
  });

  describe('bad input gets problem+json and changes nothing', () => {
    const cases: [string, () => Promise<{ status: number; body: { code: string; errors?: { field: string }[] } }>, number, string, string | null][] = [
      ['an unknown field', () => create({ colour: 'red' }), 400, 'VALIDATION_FAILED', 'colour'],
      ['a wrong type', () => create({ title: 42 }), 400, 'VALIDATION_FAILED', 'title'],
      ['a missing title', () => send('POST', '/tasks', { ownerId: 'u' }), 400, 'VALIDATION_FAILED', 'title'],
      ['an empty title', () => create({ title: '  ' }), 400, 'VALIDATION_FAILED', 'title'],
      ['a title over 200 characters', () => create({ title: 'x'.repeat(201) }), 400, 'VALIDATION_FAILED', 'title'],
      ['an impossible due date', () => create({ dueDate: '2026-02-30' }), 400, 'VALIDATION_FAILED', 'dueDate'],
      ['an unknown priority', () => create({ priority: 'URGENT' }), 400, 'VALIDATION_FAILED', 'priority'],
      ['malformed JSON', () => send('POST', '/tasks', '{"title": '), 400, 'MALFORMED_JSON', null],
      ['a body over the size limit', () => create({ description: 'x'.repeat(5000) }), 413, 'PAYLOAD_TOO_LARGE', null],
      ['a task id that is not a UUID', () => send('POST', '/tasks/not-a-uuid/start'), 400, 'VALIDATION_FAILED', 'id'],
      ['an abandon without a reason', () => send('POST', '/tasks/6f1e1f5e-3a4b-4c5d-8e9f-0a1b2c3d4e5f/abandon', {}), 400, 'VALIDATION_FAILED', 'reason'],
      ['a malformed If-Match', () => send('POST', '/tasks/6f1e1f5e-3a4b-4c5d-8e9f-0a1b2c3d4e5f/start', undefined, { 'if-match': 'three' }), 400, 'VALIDATION_FAILED', 'If-Match'],
      ['a malformed Idempotency-Key', () => create({}, { 'idempotency-key': 'has spaces' }), 400, 'VALIDATION_FAILED', 'Idempotency-Key'],
    ];

    it.each(cases)('%s', async (_name, request, status, code, field) => {
      const before = await db.query<{ n: string }>('SELECT count(*) AS n FROM events');
      const res = await request();
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
      if (field) expect(res.body.errors?.map((e) => e.field)).toContain(field);
      const after = await db.query<{ n: string }>('SELECT count(*) AS n FROM events');
      expect(after).toEqual(before);
    });
  });
});
