import { migrateEventStore } from '@cqrs/event-store';
import { createHttpApp, UUID_PATTERN } from '@cqrs/http';
import { AvroSerde, createSchemaRegistry } from '@cqrs/messaging';
import { tasksTaskEventsContracts } from '@cqrs/tasks-contracts';
import {
  createThrowawayDatabase,
  devToken,
  getTestInfra,
  registerSchemas,
  type ThrowawayDatabase,
} from '@cqrs/testing';
import type { INestApplication } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { AppModule } from '../app.module';
import { loadCommandServiceConfig } from '../config';

// The write API over HTTP, in-process, against real Postgres and the real schema registry.
describe('command-service over HTTP', () => {
  let db: ThrowawayDatabase;
  let app: INestApplication;
  let base: string;
  let serde: AvroSerde;
  let token: string;

  beforeAll(async () => {
    const infra = await getTestInfra();
    db = await createThrowawayDatabase(infra.postgres.adminUrl, 'cmd_http');
    await migrateEventStore(db.url);
    await registerSchemas(infra.schemaRegistry.url);
    serde = new AvroSerde({
      registry: createSchemaRegistry(infra.schemaRegistry),
      contracts: tasksTaskEventsContracts,
    });
    const config = loadCommandServiceConfig({
      ...infra.securityEnv, // the registry's CA and the tests' credentials
      DATABASE_URL: db.url,
      SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
      OIDC_ISSUER_URL: infra.oidc.issuerUrl,
      OIDC_AUDIENCE: infra.oidc.audience,
      RATE_LIMIT_REQUESTS: '0', // hundreds of requests as one user; limits have their own spec
      HTTP_BODY_LIMIT: '4kb',
      OUTBOX_DELETE_ROWS: 'false', // keep the rows so the test can read what CDC would publish
      SNAPSHOT_EVERY: '3',
      LOG_LEVEL: 'silent',
    });
    app = await createHttpApp(AppModule, {
      service: 'command-service',
      version: 'test',
      description: '',
      bodyLimit: config.HTTP_BODY_LIMIT,
      dynamicModule: AppModule.forRoot(config),
    });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
    token = await devToken('user-1');
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  const create = (body: Record<string, unknown> = {}, headers?: Record<string, string>) =>
    send('POST', '/tasks', { title: 'Write the docs', ...body }, headers);
  const eventCount = async () => {
    const [row] = await db.query<{ n: string }>('SELECT count(*) AS n FROM events');
    return Number(row?.n);
  };

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
      expect((await send('PATCH', `/tasks/${id}`, { title: 'Write all the docs', dueDate: null })).body).toEqual({
        taskId: id,
        version: 2,
      });
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
      const [row] = await db.query<{
        aggregatetype: string;
        aggregateid: string;
        type: string;
        payload: Buffer;
        aggregateversion: string;
        traceparent: string;
        correlationid: string;
      }>('SELECT * FROM outbox WHERE aggregateid = $1', [res.body.taskId]);
      expect(row).toMatchObject({
        aggregatetype: 'tasks.task',
        type: 'TaskCreated',
        traceparent,
        correlationid: 'corr-1',
      });
      expect(Number(row!.aggregateversion)).toBe(1);
      expect(row!.payload[0]).toBe(0);
      const { value: decoded } = await serde.decode(row!.payload); // as a consumer would read it
      expect(decoded).toMatchObject({
        aggregateId: res.body.taskId,
        aggregateVersion: 1,
        title: 'Traced',
        ownerId: 'user-1',
        priority: 'NORMAL',
        correlationId: 'corr-1',
      });
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
      const versions = await db.query<{ version: string }>(
        'SELECT version FROM events WHERE stream_id = $1 ORDER BY version',
        [id],
      );
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
      const tasksTitledOnce = await db.query(
        "SELECT 1 FROM events WHERE type = 'TaskCreated' AND data->>'title' = 'Once'",
      );
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
    const cases: [
      string,
      () => Promise<{ status: number; body: { code: string; errors?: { field: string }[] } }>,
      number,
      string,
      string | null,
    ][] = [
      ['an unknown field', () => create({ colour: 'red' }), 400, 'VALIDATION_FAILED', 'colour'],
      ['a wrong type', () => create({ title: 42 }), 400, 'VALIDATION_FAILED', 'title'],
      ['a missing title', () => send('POST', '/tasks', {}), 400, 'VALIDATION_FAILED', 'title'],
      [
        'an owner in the body (the owner is the caller)',
        () => create({ ownerId: 'user-2' }),
        400,
        'VALIDATION_FAILED',
        'ownerId',
      ],
      ['an empty title', () => create({ title: '  ' }), 400, 'VALIDATION_FAILED', 'title'],
      ['a title over 200 characters', () => create({ title: 'x'.repeat(201) }), 400, 'VALIDATION_FAILED', 'title'],
      ['an impossible due date', () => create({ dueDate: '2026-02-30' }), 400, 'VALIDATION_FAILED', 'dueDate'],
      ['an unknown priority', () => create({ priority: 'URGENT' }), 400, 'VALIDATION_FAILED', 'priority'],
      ['malformed JSON', () => send('POST', '/tasks', '{"title": '), 400, 'MALFORMED_JSON', null],
      ['a body over the size limit', () => create({ description: 'x'.repeat(5000) }), 413, 'PAYLOAD_TOO_LARGE', null],
      ['a task id that is not a UUID', () => send('POST', '/tasks/not-a-uuid/start'), 400, 'VALIDATION_FAILED', 'id'],
      [
        'an abandon without a reason',
        () => send('POST', '/tasks/6f1e1f5e-3a4b-4c5d-8e9f-0a1b2c3d4e5f/abandon', {}),
        400,
        'VALIDATION_FAILED',
        'reason',
      ],
      [
        'a malformed If-Match',
        () => send('POST', '/tasks/6f1e1f5e-3a4b-4c5d-8e9f-0a1b2c3d4e5f/start', undefined, { 'if-match': 'three' }),
        400,
        'VALIDATION_FAILED',
        'If-Match',
      ],
      [
        'a malformed Idempotency-Key',
        () => create({}, { 'idempotency-key': 'has spaces' }),
        400,
        'VALIDATION_FAILED',
        'Idempotency-Key',
      ],
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

  describe('hostile input on every route: 400 naming the field or header, nothing stored', () => {
    let taskId: string;
    beforeAll(async () => {
      taskId = (await create()).body.taskId;
    });
    const expectRefused = async (request: () => ReturnType<typeof send>, field: string) => {
      const before = await eventCount();
      const res = await request();
      expect([res.status, res.headers.get('content-type')]).toEqual([
        400,
        expect.stringContaining('application/problem+json'),
      ]);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [expect.objectContaining({ field })] });
      expect(await eventCount()).toBe(before);
    };

    // Text a client can put in JSON that PostgreSQL cannot store or the rules refuse.
    const hostileText: [string, string][] = [
      ['NUL', 'a\u0000b'],
      ['a lone high surrogate', 'a\ud800b'],
      ['a lone low surrogate', '\udc00'],
      ['an escape character', 'a\u001bb'],
      ['a C1 control', 'a\u0085b'],
    ];
    const bodyFields: [string, string, (value: string) => Promise<Awaited<ReturnType<typeof send>>>][] = [
      ['POST /tasks', 'title', (v) => create({ title: v })],
      ['POST /tasks', 'description', (v) => create({ description: v })],
      ['POST /tasks', 'dueDate', (v) => create({ dueDate: v })],
      ['PATCH /tasks/:id', 'title', (v) => send('PATCH', `/tasks/${taskId}`, { title: v })],
      ['PATCH /tasks/:id', 'description', (v) => send('PATCH', `/tasks/${taskId}`, { description: v })],
      ['PATCH /tasks/:id', 'dueDate', (v) => send('PATCH', `/tasks/${taskId}`, { dueDate: v })],
      ['POST /tasks/:id/abandon', 'reason', (v) => send('POST', `/tasks/${taskId}/abandon`, { reason: v })],
    ];
    it.each(
      bodyFields.flatMap(([route, field, request]) =>
        hostileText.map(([what, value]) => [route, field, what, value, request] as const),
      ),
    )('%s: %s with %s', async (_route, field, _what, value, request) => {
      await expectRefused(() => request(value), field);
    });

    it.each([
      ['a title of 201 emoji (code points, not UTF-16 units)', () => create({ title: '🙂'.repeat(201) }), 'title'],
      ['a description over 2000 characters', () => create({ description: 'd'.repeat(2001) }), 'description'],
      [
        'a reason over 500 characters',
        () => send('POST', `/tasks/${taskId}/abandon`, { reason: 'r'.repeat(501) }),
        'reason',
      ],
      [
        'a description that is not a string',
        () => send('PATCH', `/tasks/${taskId}`, { description: { $gt: '' } }),
        'description',
      ],
    ])('%s', async (_name, request, field) => {
      await expectRefused(request, field);
    });

    it('accepts text at the limits: 200 emoji as a title, tabs and line breaks in a description', async () => {
      const res = await create({ title: '🙂'.repeat(200), description: 'one\ttwo\r\nthree' });
      expect(res.status).toBe(201);
    });

    const idRoutes: [string, string, unknown][] = [
      ['PATCH', '', { title: 'x' }],
      ['POST', '/start', undefined],
      ['POST', '/complete', undefined],
      ['POST', '/abandon', { reason: 'x' }],
      ['DELETE', '', undefined],
    ];
    const hostileIds: [string, string, string][] = [
      ['NUL', '%00', 'id'],
      ['a UUID with a NUL', `6f1e1f5e-3a4b-4c5d-8e9f-0a1b2c3d4e5f%00`, 'id'],
      ['8 KB', 'x'.repeat(8192), 'id'],
      // the router cannot decode it, before any parameter is named
      ['a lone surrogate (invalid UTF-8)', '%ED%A0%80', 'path'],
    ];
    it.each(
      idRoutes.flatMap(([method, suffix, body]) =>
        hostileIds.map(
          ([what, id, field]) =>
            [`${method} /tasks/:id${suffix}`, what, method, `/tasks/${id}${suffix}`, body, field] as const,
        ),
      ),
    )('%s: a path id with %s', async (_route, _what, method, path, body, field) => {
      await expectRefused(() => send(method, path, body), field);
    });

    const routes: [string, () => string, unknown][] = [
      ['POST /tasks', () => '/tasks', { title: 'headers' }],
      ['PATCH /tasks/:id', () => `/tasks/${taskId}`, { title: 'headers' }],
      ['POST /tasks/:id/start', () => `/tasks/${taskId}/start`, undefined],
      ['POST /tasks/:id/complete', () => `/tasks/${taskId}/complete`, undefined],
      ['POST /tasks/:id/abandon', () => `/tasks/${taskId}/abandon`, { reason: 'headers' }],
      ['DELETE /tasks/:id', () => `/tasks/${taskId}`, undefined],
    ];
    const hostileHeaders: [string, string, string][] = [
      ['X-Correlation-Id', 'over 255 characters', 'c'.repeat(256)],
      ['X-Correlation-Id', '8 KB', 'c'.repeat(8192)],
      ['X-Correlation-Id', 'a space', 'corr 1'],
      ['X-Causation-Id', 'a Latin-1 byte', 'caus\u00e9'],
      ['X-Causation-Id', 'a C1 control byte', 'caus\u0085'],
      ['Idempotency-Key', '8 KB', 'k'.repeat(8192)],
      ['If-Match', '8 KB', `"${'9'.repeat(8192)}"`],
    ];
    it.each(
      routes.flatMap(([route, path, body]) =>
        hostileHeaders.map(([header, what, value]) => [route, header, what, path, body, value] as const),
      ),
    )('%s: %s with %s', async (route, header, _what, path, body, value) => {
      await expectRefused(() => send(route.slice(0, route.indexOf(' ')), path(), body, { [header]: value }), header);
    });
  });

  describe('trace context and ids from headers', () => {
    const outboxOf = async (taskId: string) =>
      (
        await db.query<{ traceparent: string | null; tracestate: string | null }>(
          'SELECT traceparent, tracestate FROM outbox WHERE aggregateid = $1',
          [taskId],
        )
      )[0];
    const metadataOf = async (taskId: string) =>
      (
        await db.query<{ metadata: Record<string, unknown> }>('SELECT metadata FROM events WHERE stream_id = $1', [
          taskId,
        ])
      )[0]?.metadata;
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

    it.each([
      ['junk', 'not a traceparent'],
      ['upper-case hex', traceparent.toUpperCase()],
      ['8 KB', 'x'.repeat(8192)],
    ])(
      'ignores a malformed traceparent (%s) and its tracestate: nothing stored, the command succeeds',
      async (_name, value) => {
        const res = await create({ title: 'Untraced' }, { traceparent: value, tracestate: 'rojo=00f067aa0ba902b7' });
        expect(res.status).toBe(201);
        expect(await outboxOf(res.body.taskId)).toMatchObject({ traceparent: null, tracestate: null });
        const metadata = await metadataOf(res.body.taskId);
        expect(metadata).not.toHaveProperty('traceparent');
        expect(metadata).not.toHaveProperty('tracestate');
      },
    );

    it('stores a valid trace context normalised: tracestate keeps its well-formed members only', async () => {
      const res = await create(
        { title: 'Traced' },
        {
          traceparent: `${traceparent.replace(/^00/, 'cc')}-${'f'.repeat(4096)}`,
          tracestate: `rojo=1,BAD=2,${'x'.repeat(8192)}`,
        },
      );
      expect(res.status).toBe(201);
      expect(await outboxOf(res.body.taskId)).toMatchObject({ traceparent, tracestate: 'rojo=1' });
    });

    it('stores valid correlation and causation ids, echoes the correlation id, and makes one up when it is empty', async () => {
      const res = await create({ title: 'Correlated' }, { 'x-correlation-id': 'corr-42', 'x-causation-id': 'cmd-41' });
      expect(res.headers.get('x-correlation-id')).toBe('corr-42');
      expect(await metadataOf(res.body.taskId)).toMatchObject({ correlationId: 'corr-42', causationId: 'cmd-41' });
      const empty = await create({ title: 'Uncorrelated' }, { 'x-correlation-id': '' });
      expect(empty.status).toBe(201);
      expect(empty.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe("one client's bad input is no other client's failure", () => {
    it('answers 5 hostile creates among 200 concurrent good ones with 400 each, and stores every good one', async () => {
      const before = await eventCount();
      const hostile = ['a\u0000b', '\ud800', 'x\udfff', '\u0000', 'lone \ud83d'];
      const requests = Array.from({ length: 205 }, (_, i) =>
        i % 41 === 40 ? create({ title: hostile[(i - 40) / 41] }) : create({ title: `Good ${i}` }),
      );
      const results = await Promise.all(requests);
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 400)).toHaveLength(5);
      expect(statuses.filter((s) => s === 201)).toHaveLength(200);
      expect((await eventCount()) - before).toBe(200);
    });
  });

  describe('overload', () => {
    it('sheds what the group-commit queue cannot hold with 503 EVENT_STORE_UNAVAILABLE and Retry-After, never a 500', async () => {
      const infra = await getTestInfra();
      const config = loadCommandServiceConfig({
        ...infra.securityEnv, // the registry's CA and the tests' credentials
        DATABASE_URL: db.url,
        SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
        OIDC_ISSUER_URL: infra.oidc.issuerUrl,
        OIDC_AUDIENCE: infra.oidc.audience,
        APPENDS_IN_FLIGHT: '1',
        APPENDS_QUEUED_MAX: '1',
        LOG_LEVEL: 'silent',
      });
      const tight = await createHttpApp(AppModule, {
        service: 'command-service',
        version: 'test',
        description: '',
        dynamicModule: AppModule.forRoot(config),
      });
      try {
        await tight.listen(0, '127.0.0.1');
        const url = await tight.getUrl();
        const results = await Promise.all(
          Array.from({ length: 100 }, async (_, i) => {
            const response = await fetch(`${url}/tasks`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
              body: JSON.stringify({ title: `Burst ${i}` }),
            });
            return {
              status: response.status,
              retryAfter: response.headers.get('retry-after'),
              type: response.headers.get('content-type'),
              body: (await response.json()) as { taskId: string; code: string },
            };
          }),
        );
        const shed = results.filter((r) => r.status === 503);
        expect(results.filter((r) => r.status !== 201 && r.status !== 503)).toEqual([]);
        expect(shed.length).toBeGreaterThan(0);
        for (const r of shed) {
          expect(r).toMatchObject({
            retryAfter: '1',
            type: expect.stringContaining('application/problem+json'),
            body: { code: 'EVENT_STORE_UNAVAILABLE', status: 503 },
          });
        }
        const created = results.filter((r) => r.status === 201).map((r) => r.body.taskId);
        const stored = await db.query('SELECT 1 FROM events WHERE stream_id = ANY($1)', [created]);
        expect(stored).toHaveLength(created.length);
      } finally {
        await tight.close();
      }
    });
  });

  describe('the OpenAPI document', () => {
    it('declares 400 and 503 with Retry-After on every command route', async () => {
      const document = (await send('GET', '/openapi.json')).body as {
        paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>>;
      };
      const operations = Object.entries(document.paths)
        .filter(([path]) => path.startsWith('/tasks'))
        .flatMap(([path, methods]) =>
          Object.entries(methods).map(([method, operation]) => [`${method} ${path}`, operation.responses] as const),
        );
      expect(operations.map(([name]) => name).sort()).toEqual([
        'delete /tasks/{id}',
        'patch /tasks/{id}',
        'post /tasks',
        'post /tasks/{id}/abandon',
        'post /tasks/{id}/complete',
        'post /tasks/{id}/start',
      ]);
      for (const [name, responses] of operations) {
        expect([name, Object.keys(responses)]).toEqual([name, expect.arrayContaining(['400', '503'])]);
        expect([name, responses['503']?.headers]).toEqual([
          name,
          { 'Retry-After': expect.objectContaining({ schema: { type: 'integer', minimum: 0 } }) },
        ]);
      }
    });
  });

  // fetch refuses TRACE and some header sizes: plain node:http, as any client could send.
  const raw = (method: string, path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, unknown> | undefined }>(
      (resolve, reject) => {
        const req = httpRequest(base + path, { method, headers }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }),
          );
        });
        req.on('error', reject).end();
      },
    );

  describe('the HTTP edge', () => {
    it.each([
      ['TRACE', '/tasks', 'POST'],
      ['GET', '/tasks', 'POST'],
      ['PUT', '/tasks/6f1e1f5e-3a4b-4c5d-8e9f-0a1b2c3d4e5f', 'DELETE, PATCH'],
      ['TRACE', '/tasks/6f1e1f5e-3a4b-4c5d-8e9f-0a1b2c3d4e5f/start', 'POST'],
      ['TRACE', '/health/live', 'GET, HEAD'],
    ])(
      'answers %s %s, a method the path does not have, 405 problem+json with Allow: %s',
      async (method, path, allow) => {
        const res = await raw(method, path);
        expect(res.status).toBe(405);
        expect(res.headers['allow']).toBe(allow);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
      },
    );

    it('still answers 404 ROUTE_NOT_FOUND for a path no route has', async () => {
      const res = await raw('TRACE', '/nowhere');
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    });

    it('answers headers over 32 KiB 431 problem+json, and lets a 20 KB header reach validation (400 naming it)', async () => {
      const huge = await raw('POST', '/tasks', { 'x-correlation-id': 'a'.repeat(40_000) });
      expect(huge.status).toBe(431);
      expect(huge.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(huge.body).toMatchObject({ status: 431, code: 'REQUEST_HEADER_FIELDS_TOO_LARGE' });
      const long = await send('POST', '/tasks', { title: 'long header' }, { 'x-correlation-id': 'a'.repeat(20_000) });
      expect(long.status).toBe(400);
      expect(long.body.errors).toEqual([{ field: 'X-Correlation-Id', message: expect.any(String) }]);
    });

    it('answers an If-Match on a create 412 VERSION_MISMATCH, as declared: a new task has no version to match', async () => {
      const res = await create({}, { 'if-match': '"1"' });
      expect(res.status).toBe(412);
      expect(res.body).toMatchObject({ code: 'VERSION_MISMATCH' });
      // the version a stream has before its first event
      expect((await create({}, { 'if-match': '"0"' })).status).toBe(201);
    });
  });

  describe('the OpenAPI document states what the service enforces', () => {
    type Operation = {
      parameters?: { name: string; in: string; schema: { pattern?: string } }[];
      requestBody?: unknown;
      responses: Record<string, { content?: Record<string, unknown> }>;
    };
    let document: {
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, { additionalProperties?: unknown }> };
    };
    const operations = () =>
      Object.entries(document.paths).flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, op]) => [`${method} ${path}`, op] as const),
      );
    beforeAll(async () => {
      document = (await send('GET', '/openapi.json')).body;
    });

    it('declares every error answer of every route, health included, as application/problem+json', () => {
      for (const [name, op] of operations()) {
        for (const [status, response] of Object.entries(op.responses).filter(([status]) => Number(status) >= 400)) {
          expect([name, status, Object.keys(response.content ?? {})]).toEqual([
            name,
            status,
            ['application/problem+json'],
          ]);
        }
        expect([name, Object.keys(op.responses)]).toEqual([name, expect.arrayContaining(['431'])]);
      }
    });

    it('refuses unknown body fields, declares 412 on POST /tasks, and states the id and If-Match rules', () => {
      for (const dto of ['CreateTaskDto', 'UpdateTaskDto', 'AbandonTaskDto'])
        expect([dto, document.components.schemas[dto]?.additionalProperties]).toEqual([dto, false]);
      expect(Object.keys(document.paths['/tasks']?.['post']?.responses ?? {})).toContain('412');
      const start = document.paths['/tasks/{id}/start']?.['post'];
      expect(start?.parameters?.find((p) => p.name === 'id')?.schema.pattern).toBe(UUID_PATTERN);
      const ifMatch = new RegExp(start?.parameters?.find((p) => p.name === 'If-Match')?.schema.pattern ?? '', 'u');
      expect(['"3"', 'W/"3"', '0', '"x"', '3', ''].map((value) => ifMatch.test(value))).toEqual([
        true,
        true,
        false,
        false,
        false,
        false,
      ]);
    });
  });
});
