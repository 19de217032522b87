import { createHttpApp, UUID_PATTERN } from '@cqrs/http';
import { devToken, getTestInfra } from '@cqrs/testing';
import { TaskReadModelWriter } from '@cqrs/tasks-read-model';
import {
  createReadModelTestDatabase,
  taskEvents,
  taskRecord,
  type ReadModelTestDatabase,
} from '@cqrs/tasks-read-model/testing';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Pool } from 'pg';
import { AppModule } from '../app.module';
import { loadQueryServiceConfig } from '../config';

// The query service in-process over HTTP, on a real read database that a real projector writer
// changes: routes, problem+json, cache invalidation by NOTIFY, and read-your-writes.
describe('query service (HTTP, real PostgreSQL)', () => {
  let db: ReadModelTestDatabase;
  let projectorPool: Pool;
  let writer: TaskReadModelWriter;
  let app: INestApplication;
  let base: string;
  // These specs are about reading (caches, read-your-writes, input rules) across many owners, so
  // they read as an admin, who may read them all; who may read what is auth.int.spec.ts's subject.
  let authorization: string;

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { headers: { authorization, ...headers } });
  const json = async (path: string, headers: Record<string, string> = {}) => {
    const response = await get(path, headers);
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  };

  beforeAll(async () => {
    const infra = await getTestInfra();
    db = await createReadModelTestDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerReadUrl,
      projectorUrl: infra.postgres.readUrl,
      queryUrl: infra.postgres.queryUrl,
      prefix: 'qs_test',
    });
    projectorPool = new Pool({ connectionString: db.projectorUrl, max: 2 });
    writer = new TaskReadModelWriter(projectorPool, 1);
    // Fresh and cache times far longer than the test: only a NOTIFY can explain a changed answer.
    authorization = `Bearer ${await devToken('operator', { roles: ['admin'] })}`;
    const config = loadQueryServiceConfig({
      DATABASE_URL: db.queryUrl,
      OIDC_ISSUER_URL: infra.oidc.issuerUrl,
      OIDC_AUDIENCE: infra.oidc.audience,
      RATE_LIMIT_REQUESTS: '0', // hundreds of reads as one caller; limits have their own spec
      LOG_LEVEL: 'silent',
      CACHE_TASK_FRESH_MS: '600000',
      CACHE_TASK_TIME_MS: '600000',
      CACHE_TASK_LIST_FRESH_MS: '600000',
      CACHE_TASK_LIST_TIME_MS: '600000',
      CACHE_USER_STATS_FRESH_MS: '600000',
      CACHE_USER_STATS_TIME_MS: '600000',
      CACHE_EMPTY_MS: '600000',
      READ_YOUR_WRITES_TIMEOUT_MS: '1500',
      READ_YOUR_WRITES_RETRY_AFTER_S: '2',
    });
    const root = AppModule.forRoot(config);
    app = await createHttpApp(root.module, {
      service: 'query-service',
      version: 'test',
      description: 'test',
      dynamicModule: root,
    });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
    for (let i = 0; (await get('/health/ready')).status !== 200; i++) {
      if (i > 100) throw new Error('query service never became ready');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    await app?.close();
    await projectorPool?.end();
    await db?.drop();
  });

  describe('GET /tasks/:id', () => {
    it('answers a task’s details with its version as ETag', async () => {
      const id = randomUUID();
      const e = taskEvents(id, 'u-get');
      await writer.applyBatch([taskRecord(e.created('Read me'), 1), taskRecord(e.started(), 2)]);
      const { status, headers, body } = await json(`/tasks/${id}`);
      expect(status).toBe(200);
      expect(headers.get('etag')).toBe('"2"');
      expect(body).toMatchObject({
        taskId: id,
        ownerId: 'u-get',
        title: 'Read me',
        status: 'started',
        version: 2,
        description: null,
      });
    });

    it('answers 404 problem+json for an unknown task, and for a deleted one says so', async () => {
      const unknown = await json(`/tasks/${randomUUID()}`);
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('content-type')).toContain('application/problem+json');
      expect(unknown.body).toMatchObject({ code: 'TASK_NOT_FOUND', detail: expect.stringContaining('does not exist') });

      const id = randomUUID();
      const e = taskEvents(id, 'u-del');
      await writer.applyBatch([taskRecord(e.created(), 1), taskRecord(e.deleted(), 2)]);
      expect((await json(`/tasks/${id}`)).body).toMatchObject({
        status: 404,
        code: 'TASK_NOT_FOUND',
        detail: `task ${id} was deleted`,
      });
    });

    it('rejects a malformed id, a malformed minVersion and unknown query fields with 400', async () => {
      expect((await json('/tasks/not-a-uuid')).body).toMatchObject({
        status: 400,
        code: 'VALIDATION_FAILED',
        errors: [{ field: 'id' }],
      });
      expect((await json(`/tasks/${randomUUID()}?minVersion=abc`)).body).toMatchObject({
        status: 400,
        errors: [{ field: 'minVersion' }],
      });
      expect((await json(`/tasks/${randomUUID()}?color=red`)).body).toMatchObject({
        status: 400,
        code: 'VALIDATION_FAILED',
      });
    });
  });

  describe('GET /users/:userId/tasks', () => {
    const owner = `u-list-${randomUUID()}`;
    beforeAll(async () => {
      const records = [];
      for (let i = 0; i < 5; i++) {
        const e = taskEvents(randomUUID(), owner, new Date(Date.UTC(2025, 0, 1, 9, i)).toISOString());
        records.push(taskRecord(e.created(`task ${i}`), 1));
        if (i % 2 === 0) records.push(taskRecord(e.completed(), 2));
      }
      await writer.applyBatch(records);
    });

    it('pages through a user’s tasks newest first with an opaque cursor', async () => {
      const first = await json(`/users/${owner}/tasks?limit=2`);
      expect((first.body['items'] as { title: string }[]).map((t) => t.title)).toEqual(['task 4', 'task 3']);
      const second = await json(`/users/${owner}/tasks?limit=2&cursor=${first.body['nextCursor'] as string}`);
      expect((second.body['items'] as { title: string }[]).map((t) => t.title)).toEqual(['task 2', 'task 1']);
      const third = await json(`/users/${owner}/tasks?limit=2&cursor=${second.body['nextCursor'] as string}`);
      expect(third.body).toMatchObject({ items: [{ title: 'task 0' }], nextCursor: null });
    });

    it('filters by status', async () => {
      const { body } = await json(`/users/${owner}/tasks?status=completed`);
      expect((body['items'] as { title: string }[]).map((t) => t.title)).toEqual(['task 4', 'task 2', 'task 0']);
    });

    it('rejects an unknown status, a limit out of range and a forged cursor', async () => {
      expect((await json(`/users/${owner}/tasks?status=done`)).body).toMatchObject({
        status: 400,
        errors: [{ field: 'status' }],
      });
      expect((await json(`/users/${owner}/tasks?limit=1000`)).body).toMatchObject({
        status: 400,
        errors: [{ field: 'limit' }],
      });
      expect((await json(`/users/${owner}/tasks?cursor=forged`)).body).toMatchObject({
        status: 400,
        code: 'INVALID_CURSOR',
      });
    });
  });

  describe('GET /users/:userId/stats', () => {
    it('counts a user’s tasks per status with the completion rate; zeros for a user without tasks', async () => {
      const owner = `u-stats-${randomUUID()}`;
      const [a, b, c] = [
        taskEvents(randomUUID(), owner),
        taskEvents(randomUUID(), owner),
        taskEvents(randomUUID(), owner),
      ];
      await writer.applyBatch([
        taskRecord(a.created(), 1),
        taskRecord(a.completed(), 2),
        taskRecord(b.created(), 1),
        taskRecord(b.started(), 2),
        taskRecord(c.created(), 1),
        taskRecord(c.abandoned(), 2),
      ]);
      expect((await json(`/users/${owner}/stats`)).body).toEqual({
        ownerId: owner,
        total: 3,
        byStatus: { open: 0, started: 1, completed: 1, abandoned: 1 },
        deleted: 0,
        completionRate: 0.3333,
      });
      expect((await json(`/users/nobody-${randomUUID()}/stats`)).body).toMatchObject({ total: 0, completionRate: 0 });
    });
  });

  describe('cache', () => {
    it('serves repeated reads from the cache and drops the entry when the projector commits a change', async () => {
      const id = randomUUID();
      const owner = `u-cache-${randomUUID()}`;
      const e = taskEvents(id, owner);
      await writer.applyBatch([taskRecord(e.created('before'), 1)]);
      expect((await get(`/tasks/${id}`)).headers.get('cache-status')).toBe('query-service; fwd=miss');
      expect((await get(`/tasks/${id}`)).headers.get('cache-status')).toBe('query-service; hit');
      await json(`/users/${owner}/stats`);
      await json(`/users/${owner}/tasks`);

      await writer.applyBatch([taskRecord(e.updated({ title: 'after' }), 2), taskRecord(e.started(), 3)]);
      // Fresh for ten minutes, so only the NOTIFY can make these answers change.
      await eventually(async () =>
        expect((await json(`/tasks/${id}`)).body).toMatchObject({ title: 'after', version: 3 }),
      );
      await eventually(async () =>
        expect((await json(`/users/${owner}/stats`)).body).toMatchObject({ byStatus: { open: 0, started: 1 } }),
      );
      await eventually(async () =>
        expect((await json(`/users/${owner}/tasks`)).body).toMatchObject({ items: [{ status: 'started' }] }),
      );
    });

    it('caches an unknown id briefly, and drops that 404 as soon as the task appears', async () => {
      const id = randomUUID();
      const burst = await Promise.all(Array.from({ length: 5 }, () => get(`/tasks/${id}`)));
      expect(burst.map((r) => r.status)).toEqual([404, 404, 404, 404, 404]);
      expect((await get(`/tasks/${id}`)).headers.get('cache-status')).toBe('query-service; hit');
      // ...and the task appearing (NOTIFY) replaces the cached 404 at once.
      const e = taskEvents(id, 'u-late');
      await writer.applyBatch([taskRecord(e.created(), 1)]);
      await eventually(async () => expect((await get(`/tasks/${id}`)).status).toBe(200));
    });
  });

  describe('read-your-writes', () => {
    it('waits for the version, woken by the projector’s commit, then answers with it', async () => {
      const id = randomUUID();
      const e = taskEvents(id, 'u-ryw');
      await writer.applyBatch([taskRecord(e.created(), 1)]);
      await json(`/tasks/${id}`); // cached at version 1

      const pending = json(`/tasks/${id}`, { 'X-Min-Version': '2' });
      await new Promise((r) => setTimeout(r, 200));
      await writer.applyBatch([taskRecord(e.started(), 2)]);
      const { status, body, headers } = await pending;
      expect(status).toBe(200);
      expect(body).toMatchObject({ version: 2, status: 'started' });
      expect(Number(headers.get('x-read-your-writes-waited-ms'))).toBeGreaterThanOrEqual(150);
    });

    it('answers 503 READ_MODEL_BEHIND with Retry-After instead of stale data when the version does not come', async () => {
      const id = randomUUID();
      const e = taskEvents(id, 'u-ryw-late');
      await writer.applyBatch([taskRecord(e.created(), 1)]);
      const started = Date.now();
      const { status, headers, body } = await json(`/tasks/${id}?minVersion=7`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      expect(status).toBe(503);
      expect(headers.get('retry-after')).toBe('2');
      expect(headers.get('content-type')).toContain('application/problem+json');
      expect(body).toMatchObject({
        code: 'READ_MODEL_BEHIND',
        behind: [{ taskId: id, minVersion: 7, currentVersion: 1 }],
      });
    });

    it('on a user’s list and stats, waits for the named task’s version and bypasses older cache entries', async () => {
      const owner = `u-ryw-list-${randomUUID()}`;
      const first = taskEvents(randomUUID(), owner);
      await writer.applyBatch([taskRecord(first.created('first'), 1)]);
      await json(`/users/${owner}/tasks`); // cached with one task
      const id = randomUUID();
      const second = taskEvents(id, owner, '2025-06-01T00:00:00.000Z');
      const list = json(`/users/${owner}/tasks`, { 'X-Min-Version': `${id}:1` });
      const stats = json(`/users/${owner}/stats?minVersion=${id}:1`);
      await new Promise((r) => setTimeout(r, 100));
      await writer.applyBatch([taskRecord(second.created('second'), 1)]);
      expect((await list).body).toMatchObject({ items: [{ title: 'second' }, { title: 'first' }] });
      expect((await stats).body).toMatchObject({ total: 2 });
      expect((await json(`/users/${owner}/tasks`, { 'X-Min-Version': '1' })).body).toMatchObject({
        status: 400,
        errors: [{ field: 'X-Min-Version' }],
      });
    });
  });

  describe('hostile input: a 400 naming the parameter, never a 500', () => {
    const id = randomUUID();
    const expectBadParameter = async (path: string, field: string, headers: Record<string, string> = {}) => {
      const { status, headers: answer, body } = await json(path, headers);
      const fields = [...new Set((body['errors'] as { field: string }[] | undefined)?.map((e) => e.field))];
      expect({ path, status, type: answer.get('content-type'), fields }).toEqual({
        path,
        status: 400,
        type: expect.stringContaining('application/problem+json'),
        fields: [field],
      });
    };

    it.each([
      ['a NUL user id (lists)', '/users/%00/tasks', 'userId'],
      ['a NUL user id (stats)', '/users/%00/stats', 'userId'],
      ['a control character in the user id', '/users/a%1Fb/stats', 'userId'],
      ['a blank user id', '/users/%20/tasks', 'userId'],
      ['a user id with surrounding whitespace', '/users/%20alice/stats', 'userId'],
      ['a user id of 201 characters', `/users/${'😀'.repeat(201)}/tasks`, 'userId'],
      ['a NUL task id in minVersion (lists)', '/users/u/tasks?minVersion=%00:1', 'minVersion'],
      ['a NUL task id in minVersion (stats)', '/users/u/stats?minVersion=%00:1', 'minVersion'],
      ['a task id that is not a UUID in minVersion', `/tasks/${id}?minVersion=task-1:1`, 'minVersion'],
      ['a version beyond 2^53 - 1', `/users/u/tasks?minVersion=${id}:9007199254740993`, 'minVersion'],
      [
        'a cursor that decodes to ["1","x"]',
        `/users/u/tasks?cursor=${Buffer.from('["1","x"]').toString('base64url')}`,
        'cursor',
      ],
      [
        'a cursor with a NUL task id',
        `/users/u/tasks?cursor=${Buffer.from('["2025-01-01T09:00:00.000Z","\\u0000"]').toString('base64url')}`,
        'cursor',
      ],
      ['a limit in exponent notation', '/users/u/tasks?limit=1e1', 'limit'],
      ['a limit of 0', '/users/u/tasks?limit=0', 'limit'],
      ['a repeated status', '/users/u/tasks?status=open&status=started', 'status'],
      ['a repeated cursor', '/users/u/tasks?cursor=a&cursor=b', 'cursor'],
      ['a task id that is not a UUID', '/tasks/%00', 'id'],
    ])('%s', async (_, path, field) => {
      await expectBadParameter(path, field);
    });

    it.each([
      ['a NUL task id', '%00:1', '/users/u/tasks'],
      ['a task id that is not a UUID', 'x:1', '/users/u/stats'],
      ['a version of 0', `${id}:0`, `/tasks/${id}`],
    ])('rejects X-Min-Version with %s', async (_, header, path) => {
      await expectBadParameter(path, 'X-Min-Version', { 'X-Min-Version': header });
    });

    it('rejects a path that is not valid percent-encoding as a problem, not a 500', async () => {
      const { status, headers } = await json('/users/%E0%A4%A/tasks');
      expect(status).toBe(400);
      expect(headers.get('content-type')).toContain('application/problem+json');
    });

    it('lists and counts the tasks of an owner id of 101 to 200 emoji, as the write side accepts them', async () => {
      const owner = '😀'.repeat(150); // 300 UTF-16 units, 150 characters
      const e = taskEvents(randomUUID(), owner);
      await writer.applyBatch([taskRecord(e.created('emoji owner'), 1)]);
      expect((await json(`/users/${encodeURIComponent(owner)}/tasks`)).body).toMatchObject({
        items: [{ title: 'emoji owner', ownerId: owner }],
      });
      expect((await json(`/users/${encodeURIComponent(owner)}/stats`)).body).toMatchObject({
        ownerId: owner,
        total: 1,
      });
      expect((await json(`/users/${encodeURIComponent('😀'.repeat(200))}/stats`)).status).toBe(200);
    });
  });

  it('declares 400 and 503 with Retry-After on every route of /openapi.json', async () => {
    type Operation = {
      responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
    };
    const doc = (await json('/openapi.json')).body as { paths: Record<string, Record<string, Operation>> };
    const routes = ['/tasks/{id}', '/users/{userId}/tasks', '/users/{userId}/stats'];
    for (const route of routes) {
      const get = doc.paths[route]?.['get'];
      expect({ route, codes: Object.keys(get?.responses ?? {}) }).toEqual({
        route,
        codes: expect.arrayContaining(['200', '304', '400', '503']),
      });
      expect(get?.responses['503']?.headers).toHaveProperty('Retry-After');
      for (const status of ['400', '503'])
        expect(Object.keys(get?.responses[status]?.content ?? {})).toEqual(['application/problem+json']);
    }
  });

  it('answers 304 to a matching If-None-Match on every route, as documented', async () => {
    const id = randomUUID();
    await writer.applyBatch([taskRecord(taskEvents(id, 'u-304').created(), 1)]);
    // fetch would add Cache-Control: no-cache to a conditional request, which forces a 200.
    const conditional = (etag: string) => ({ 'If-None-Match': etag, 'Cache-Control': 'max-age=0' });
    expect((await get(`/tasks/${id}`, conditional('"1"'))).status).toBe(304);
    for (const path of ['/users/u-304/tasks', '/users/u-304/stats']) {
      const etag = (await get(path)).headers.get('etag') ?? '';
      expect({ path, status: (await get(path, conditional(etag))).status }).toEqual({ path, status: 304 });
    }
  });

  describe('the HTTP edge', () => {
    // fetch refuses TRACE: plain node:http, as any client could send.
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

    it.each([
      ['TRACE', `/tasks/${randomUUID()}`, 'GET, HEAD'],
      ['POST', '/users/u-1/tasks', 'GET, HEAD'],
      ['DELETE', '/users/u-1/stats', 'GET, HEAD'],
      ['TRACE', '/health/ready', 'GET, HEAD'],
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
      expect((await raw('GET', '/nowhere')).body).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND' });
    });

    it('answers a 40 KB header 431 problem+json, and a 24 KB minVersion (2001 emoji) 400 naming it', async () => {
      const huge = await raw('GET', `/tasks/${randomUUID()}`, { 'x-min-version': '1'.repeat(40_000) });
      expect(huge.status).toBe(431);
      expect(huge.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(huge.body).toMatchObject({ status: 431, code: 'REQUEST_HEADER_FIELDS_TOO_LARGE' });
      const long = await json(`/tasks/${randomUUID()}?minVersion=${encodeURIComponent('😀'.repeat(2001))}`);
      expect(long.status).toBe(400);
      expect(long.body['errors']).toEqual([expect.objectContaining({ field: 'minVersion' })]);
    });
  });

  it('declares every error answer of every route in /openapi.json as problem+json, and the id as a UUID pattern', async () => {
    type Operation = {
      parameters?: { name: string; schema: { pattern?: string } }[];
      responses: Record<string, { content?: Record<string, unknown> }>;
    };
    const doc = (await json('/openapi.json')).body as { paths: Record<string, Record<string, Operation>> };
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        for (const [status, response] of Object.entries(op.responses).filter(([status]) => Number(status) >= 400)) {
          expect([method, path, status, Object.keys(response.content ?? {})]).toEqual([
            method,
            path,
            status,
            ['application/problem+json'],
          ]);
        }
      }
    }
    expect(doc.paths['/tasks/{id}']?.['get']?.parameters?.find((p) => p.name === 'id')?.schema.pattern).toBe(
      UUID_PATTERN,
    );
  });

  it('describes its routes in /openapi.json and serves /docs', async () => {
    const doc = (await json('/openapi.json')).body as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/tasks/{id}', '/users/{userId}/tasks', '/users/{userId}/stats']),
    );
    expect((await get('/docs')).status).toBe(200);
  });
});

async function eventually(assertion: () => Promise<void>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
