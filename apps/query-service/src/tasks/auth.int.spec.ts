import { createHttpApp, DEFAULT_MAX_HEADER_SIZE, listenManagement } from '@cqrs/http';
import { devToken, eventually, getTestInfra, tamperedToken, untrustedToken } from '@cqrs/testing';
import { TaskReadModelWriter } from '@cqrs/tasks-read-model';
import {
  createReadModelTestDatabase,
  taskEvents,
  taskRecord,
  type ReadModelTestDatabase,
} from '@cqrs/tasks-read-model/testing';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { AppModule } from '../app.module';
import { loadQueryServiceConfig } from '../config';

// Who may read what: every route of the read API under every kind of caller, in-process on a real
// read database, against the stack's real (development) OIDC issuer, with the API and management
// ports split as the service runs them; and the per-caller rate limit.
describe('query service: authentication, ownership and rate limits', () => {
  let db: ReadModelTestDatabase;
  let projectorPool: Pool;
  const apps: INestApplication[] = [];
  const tokens: Record<string, string> = {};
  const aliceTask = randomUUID();
  const run = randomUUID().slice(0, 8);
  // Subjects of this run only, so lists and stats hold exactly what this spec wrote.
  const alice = `alice-${run}`;
  const bob = `bob-${run}`;

  async function start(env: Record<string, string>) {
    const infra = await getTestInfra();
    const config = loadQueryServiceConfig({
      DATABASE_URL: db.queryUrl,
      OIDC_ISSUER_URL: infra.oidc.issuerUrl,
      OIDC_AUDIENCE: infra.oidc.audience,
      LOG_LEVEL: 'silent',
      ...env,
    });
    const root = AppModule.forRoot(config);
    const app = await createHttpApp(root.module, {
      service: 'query-service',
      version: 'test',
      description: '',
      dynamicModule: root,
      managementPort: true,
      bearerAuth: true,
    });
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    return {
      api: await app.getUrl(),
      management: await listenManagement(app, 0, '127.0.0.1', DEFAULT_MAX_HEADER_SIZE),
    };
  }

  beforeAll(async () => {
    const infra = await getTestInfra();
    db = await createReadModelTestDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerReadUrl,
      projectorUrl: infra.postgres.readUrl,
      queryUrl: infra.postgres.queryUrl,
      prefix: 'qs_test',
    });
    projectorPool = new Pool({ connectionString: db.projectorUrl, max: 1 });
    const e = taskEvents(aliceTask, alice);
    await new TaskReadModelWriter(projectorPool, 1).applyBatch([
      taskRecord(e.created('Alice’s'), 1),
      taskRecord(e.started(), 2),
    ]);
    const aliceToken = await devToken(alice);
    Object.assign(tokens, {
      alice: aliceToken,
      bob: await devToken(bob),
      admin: await devToken(`ops-${run}`, { roles: ['admin'] }),
      expired: await devToken(alice, { expiresIn: -3600 }),
      'wrong audience': await devToken(alice, { audience: 'another-api' }),
      'bad signature': await untrustedToken(alice),
      tampered: tamperedToken(aliceToken),
    });
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await projectorPool?.end();
    await db?.drop();
  });

  const get = async (base: string, path: string, authorization?: string) => {
    const response = await fetch(base + path, { headers: authorization === undefined ? {} : { authorization } });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  };
  const bearer = (name: string) => `Bearer ${tokens[name]}`;

  describe('every route under every caller', () => {
    let api: string;
    beforeAll(async () => {
      // The matrix is many requests per caller; read-your-writes gives up quickly.
      ({ api } = await start({ RATE_LIMIT_REQUESTS: '0', READ_YOUR_WRITES_TIMEOUT_MS: '300' }));
    });

    const routes = () => [
      { route: 'GET /tasks/:id', path: `/tasks/${aliceTask}` },
      { route: 'GET /users/:userId/tasks', path: `/users/${alice}/tasks` },
      { route: 'GET /users/:userId/stats', path: `/users/${alice}/stats` },
      { route: 'GET /me/tasks', path: '/me/tasks' },
      { route: 'GET /me/stats', path: '/me/stats' },
    ];

    it.each([
      ['no token', 'AUTHENTICATION_REQUIRED', undefined],
      ['a bad signature', 'INVALID_TOKEN', 'bad signature'],
      ['a tampered payload', 'INVALID_TOKEN', 'tampered'],
      ['an expired token', 'INVALID_TOKEN', 'expired'],
      ['a token for another audience', 'INVALID_TOKEN', 'wrong audience'],
    ])('%s: 401 %s on every route, with a Bearer challenge', async (_name, code, token) => {
      for (const { route, path } of routes()) {
        const res = await get(api, path, token && bearer(token));
        expect([route, res.status, res.body['code'], res.headers.get('www-authenticate')]).toEqual([
          route,
          401,
          code,
          expect.stringMatching(/^Bearer realm="api"/),
        ]);
      }
    });

    it('the owner reads her task, her lists and stats, by id, by her user id, and as /me', async () => {
      for (const { route, path } of routes())
        expect([route, (await get(api, path, bearer('alice'))).status]).toEqual([route, 200]);
      expect((await get(api, '/me/tasks', bearer('alice'))).body['items']).toEqual([
        expect.objectContaining({ taskId: aliceTask, ownerId: alice }),
      ]);
      expect((await get(api, '/me/stats', bearer('alice'))).body).toMatchObject({ total: 1, byStatus: { started: 1 } });
    });

    it("another user: the task is 404 (as a missing one), the user's lists 403, their own /me empty", async () => {
      const task = await get(api, `/tasks/${aliceTask}`, bearer('bob'));
      expect([task.status, task.body['code'], task.body['detail']]).toEqual([
        404,
        'TASK_NOT_FOUND',
        `task ${aliceTask} does not exist`,
      ]);
      for (const path of [`/users/${alice}/tasks`, `/users/${alice}/stats`]) {
        const res = await get(api, path, bearer('bob'));
        expect([path, res.status, res.body['code']]).toEqual([path, 403, 'FORBIDDEN']);
      }
      // The same 403 for a user who does not exist: it says nothing about who does.
      expect((await get(api, `/users/nobody-${run}/tasks`, bearer('bob'))).status).toBe(403);
      expect((await get(api, '/me/tasks', bearer('bob'))).body['items']).toEqual([]);
      expect((await get(api, '/me/stats', bearer('bob'))).body).toMatchObject({ total: 0 });
    });

    it("an admin reads anyone's task, lists and stats", async () => {
      expect((await get(api, `/tasks/${aliceTask}`, bearer('admin'))).body).toMatchObject({
        taskId: aliceTask,
        ownerId: alice,
      });
      expect((await get(api, `/users/${alice}/tasks`, bearer('admin'))).body['items']).toEqual([
        expect.objectContaining({ taskId: aliceTask }),
      ]);
      expect((await get(api, `/users/${alice}/stats`, bearer('admin'))).body).toMatchObject({ total: 1 });
    });

    it("a read-your-writes wait on alice's task tells bob nothing: it waits and answers as for an unknown id", async () => {
      const unknown = randomUUID();
      const behind = async (path: string, minVersion: string) => {
        const res = await get(api, `${path}?minVersion=${minVersion}`, bearer('bob'));
        const first = (res.body['behind'] as { currentVersion: number }[] | undefined)?.[0];
        return [res.status, res.body['code'], first?.currentVersion];
      };
      expect(await behind(`/tasks/${aliceTask}`, '1')).toEqual([503, 'READ_MODEL_BEHIND', 0]);
      expect(await behind(`/tasks/${aliceTask}`, '2')).toEqual(await behind(`/tasks/${unknown}`, '2'));
      expect(await behind('/me/tasks', `${aliceTask}:1`)).toEqual(await behind('/me/tasks', `${unknown}:1`));
      expect(await behind('/me/stats', `${aliceTask}:1`)).toEqual([503, 'READ_MODEL_BEHIND', 0]);
      // Alice's own wait is met at once.
      expect((await get(api, `/me/tasks?minVersion=${aliceTask}:2`, bearer('alice'))).status).toBe(200);
    });

    it('a cached answer is no way around it: bob still gets 404 after alice warmed the cache', async () => {
      await get(api, `/tasks/${aliceTask}`, bearer('alice'));
      expect((await get(api, `/tasks/${aliceTask}`, bearer('alice'))).headers.get('cache-status')).toBe(
        'query-service; hit',
      );
      expect((await get(api, `/tasks/${aliceTask}`, bearer('bob'))).status).toBe(404);
    });
  });

  describe('rate limits per caller', () => {
    it('answers the 4th request in the window, whatever routes they went to, 429 problem+json with Retry-After; other callers and management are not held back', async () => {
      const { api, management } = await start({ RATE_LIMIT_REQUESTS: '3', RATE_LIMIT_WINDOW_MS: '60000' });
      for (const [i, path] of ['/me/stats', '/me/tasks', `/tasks/${aliceTask}`].entries()) {
        const res = await get(api, path, bearer('alice'));
        expect([
          path,
          res.status,
          res.headers.get('x-ratelimit-limit'),
          res.headers.get('x-ratelimit-remaining'),
        ]).toEqual([path, 200, '3', String(2 - i)]);
      }
      const limited = await get(api, `/users/${alice}/stats`, bearer('alice'));
      expect([limited.status, limited.headers.get('content-type'), limited.body['code']]).toEqual([
        429,
        expect.stringContaining('application/problem+json'),
        'RATE_LIMITED',
      ]);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect((await get(api, '/me/stats', bearer('bob'))).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await fetch(`${management}/health/live`)).status).toBe(200);
    });

    it('RATE_LIMIT_REQUESTS=0 turns limiting off', async () => {
      const { api } = await start({ RATE_LIMIT_REQUESTS: '0', RATE_LIMIT_WINDOW_MS: '60000' });
      const statuses = await Promise.all(
        Array.from({ length: 50 }, async () => (await get(api, '/me/stats', bearer('alice'))).status),
      );
      expect(new Set(statuses)).toEqual(new Set([200]));
    });
  });

  describe('the management port', () => {
    it('serves health, metrics and docs without a token, and nothing of the API; the API port the reverse', async () => {
      const { api, management } = await start({});
      // Ready once it LISTENs to the projector's notifications, a moment after it listens.
      await eventually(async () => expect((await fetch(`${management}/health/ready`)).status).toBe(200));
      for (const path of ['/health/ready', '/metrics', '/openapi.json', '/docs']) {
        expect([path, (await fetch(management + path)).status, (await fetch(api + path)).status]).toEqual([
          path,
          200,
          404,
        ]);
      }
      expect((await get(management, '/me/tasks', bearer('alice'))).status).toBe(404);
      const document = (await (await fetch(`${management}/openapi.json`)).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(document.paths)).toEqual(
        expect.arrayContaining(['/me/tasks', '/me/stats', '/tasks/{id}', '/users/{userId}/tasks']),
      );
    });
  });
});
