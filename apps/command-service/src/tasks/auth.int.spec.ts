import { migrateEventStore } from '@cqrs/event-store';
import { createHttpApp, DEFAULT_MAX_HEADER_SIZE, listenManagement } from '@cqrs/http';
import {
  createThrowawayDatabase,
  devToken,
  getTestInfra,
  registerSchemas,
  tamperedToken,
  untrustedToken,
  type ThrowawayDatabase,
} from '@cqrs/testing';
import type { INestApplication } from '@nestjs/common';
import { AppModule } from '../app.module';
import { loadCommandServiceConfig } from '../config';

// Who may do what on the write API: every route under every kind of caller, in-process against
// real Postgres, the real registry and the stack's real (development) OIDC issuer, with the API
// and management ports split as the service runs them.
// The origin of a Swagger page on the management port (bootstrap allows it outside production).
const SWAGGER_ORIGIN = 'http://127.0.0.1:9000';

describe('command-service: authentication and ownership', () => {
  let db: ThrowawayDatabase;
  let app: INestApplication;
  let api: string;
  let management: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    const infra = await getTestInfra();
    db = await createThrowawayDatabase(infra.postgres.adminUrl, 'cmd_http');
    await migrateEventStore(db.url);
    await registerSchemas(infra.schemaRegistry.url);
    const config = loadCommandServiceConfig({
      ...infra.securityEnv, // the registry's CA and the tests' credentials
      DATABASE_URL: db.url,
      SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
      OIDC_ISSUER_URL: infra.oidc.issuerUrl,
      OIDC_AUDIENCE: infra.oidc.audience,
      RATE_LIMIT_REQUESTS: '0', // the matrix sends hundreds of requests as alice
      LOG_LEVEL: 'silent',
    });
    app = await createHttpApp(AppModule, {
      service: 'command-service',
      version: 'test',
      description: '',
      dynamicModule: AppModule.forRoot(config),
      managementPort: true,
      bearerAuth: true,
      corsOrigins: [SWAGGER_ORIGIN],
    });
    await app.listen(0, '127.0.0.1');
    api = await app.getUrl();
    management = await listenManagement(app, 0, '127.0.0.1', DEFAULT_MAX_HEADER_SIZE);
    const alice = await devToken('alice');
    Object.assign(tokens, {
      alice,
      bob: await devToken('bob'),
      admin: await devToken('root', { roles: ['admin'] }),
      expired: await devToken('alice', { expiresIn: -3600 }),
      'wrong audience': await devToken('alice', { audience: 'another-api' }),
      'bad signature': await untrustedToken('alice'),
      tampered: tamperedToken(alice),
    });
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  type Answer = { status: number; headers: Headers; body: { code?: string; detail?: string; taskId?: string } };
  const send = async (
    method: string,
    path: string,
    authorization: string | undefined,
    body?: unknown,
    base = api,
  ): Promise<Answer> => {
    const response = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
  };
  const bearer = (name: string) => `Bearer ${tokens[name]}`;
  const createAs = async (who: string, title = 'Owned') => {
    const res = await send('POST', '/tasks', bearer(who), { title });
    expect(res.status).toBe(201);
    return res.body.taskId as string;
  };
  const eventCount = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM events'))[0]?.n);

  // Each route, with what brings alice's task to a state where she may call it.
  const routes: {
    route: string;
    method: string;
    path: (id: string) => string;
    body?: unknown;
    prepare?: (id: string) => Promise<unknown>;
    ok: number;
  }[] = [
    { route: 'POST /tasks', method: 'POST', path: () => '/tasks', body: { title: 'New' }, ok: 201 },
    { route: 'PATCH /tasks/:id', method: 'PATCH', path: (id) => `/tasks/${id}`, body: { title: 'Renamed' }, ok: 200 },
    { route: 'POST /tasks/:id/start', method: 'POST', path: (id) => `/tasks/${id}/start`, ok: 200 },
    {
      route: 'POST /tasks/:id/complete',
      method: 'POST',
      path: (id) => `/tasks/${id}/complete`,
      prepare: (id) => send('POST', `/tasks/${id}/start`, bearer('alice')),
      ok: 200,
    },
    {
      route: 'POST /tasks/:id/abandon',
      method: 'POST',
      path: (id) => `/tasks/${id}/abandon`,
      body: { reason: 'Not needed' },
      ok: 200,
    },
    { route: 'DELETE /tasks/:id', method: 'DELETE', path: (id) => `/tasks/${id}`, ok: 200 },
  ];

  const unauthenticated: [string, () => string | undefined, string, RegExp][] = [
    ['no token', () => undefined, 'AUTHENTICATION_REQUIRED', /^Bearer realm="api"$/],
    ['another scheme', () => 'Basic YWxpY2U6c2VjcmV0', 'AUTHENTICATION_REQUIRED', /^Bearer realm="api"$/],
    ['a malformed bearer value', () => 'Bearer not a token', 'INVALID_TOKEN', /error="invalid_token"/],
    ['a bad signature', () => bearer('bad signature'), 'INVALID_TOKEN', /error="invalid_token".*signature/],
    ['a tampered payload', () => bearer('tampered'), 'INVALID_TOKEN', /signature/],
    ['an expired token', () => bearer('expired'), 'INVALID_TOKEN', /expired/],
    ['a token for another audience', () => bearer('wrong audience'), 'INVALID_TOKEN', /aud/],
  ];

  describe.each(routes)('$route', ({ method, path, body, prepare, ok }) => {
    let taskId: string;
    beforeEach(async () => {
      taskId = await createAs('alice');
      await prepare?.(taskId);
    });

    it.each(unauthenticated)(
      '%s: 401 %s with a Bearer challenge, nothing stored',
      async (_name, authorization, code, challenge) => {
        const before = await eventCount();
        const res = await send(method, path(taskId), authorization(), body);
        expect([res.status, res.headers.get('content-type'), res.body.code]).toEqual([
          401,
          expect.stringContaining('application/problem+json'),
          code,
        ]);
        expect(res.headers.get('www-authenticate')).toMatch(challenge);
        expect(await eventCount()).toBe(before);
      },
    );

    if (method === 'POST' && path('') === '/tasks') {
      it('another user creates a task of their own', async () => {
        const res = await send(method, path(taskId), bearer('bob'), body);
        expect(res.status).toBe(201);
        const [row] = await db.query<{ owner: string }>(
          "SELECT data->>'ownerId' AS owner FROM events WHERE stream_id = $1",
          [res.body.taskId],
        );
        expect(row?.owner).toBe('bob');
      });
    } else {
      it.each(['bob', 'admin'])(
        "%s gets 404 TASK_NOT_FOUND on alice's task, worded as for a missing one, nothing stored",
        async (who) => {
          const before = await eventCount();
          const res = await send(method, path(taskId), bearer(who), body);
          expect([res.status, res.body.code, res.body.detail]).toEqual([
            404,
            'TASK_NOT_FOUND',
            `task ${taskId} does not exist`,
          ]);
          expect(await eventCount()).toBe(before);
        },
      );

      it("bob's If-Match on alice's task gets the 412 an unknown id gets (version 0), never her version", async () => {
        const pinned = async (id: string) => {
          const response = await fetch(api + path(id), {
            method,
            headers: { 'content-type': 'application/json', authorization: bearer('bob'), 'if-match': '"5"' },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          const problem = (await response.json()) as Record<string, unknown>;
          return [response.status, problem['code'], problem['actualVersion']];
        };
        expect(await pinned(taskId)).toEqual([412, 'VERSION_MISMATCH', 0]);
        expect(await pinned(taskId)).toEqual(await pinned('0e1d2c3b-4a59-4687-9a5b-6c7d8e9f0a1b'));
      });

      it("bob's 404 on alice's deleted task is the same as on a task that never existed", async () => {
        await send('DELETE', `/tasks/${taskId}`, bearer('alice'));
        const res = await send(method, path(taskId), bearer('bob'), body);
        expect([res.status, res.body.detail]).toEqual([404, `task ${taskId} does not exist`]);
      });
    }

    it(`the owner: ${ok}`, async () => {
      expect((await send(method, path(taskId), bearer('alice'), body)).status).toBe(ok);
    });
  });

  it('scopes Idempotency-Keys per caller: the same key and body from two users are two tasks', async () => {
    const key = `shared-key-${Date.now()}`;
    const create = (who: string) =>
      fetch(`${api}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: bearer(who), 'idempotency-key': key },
        body: JSON.stringify({ title: 'Same body' }),
      });
    const [a, b] = [await create('alice'), await create('bob')];
    expect([a.status, b.status]).toEqual([201, 201]);
    expect([a.headers.get('idempotent-replayed'), b.headers.get('idempotent-replayed')]).toEqual([null, null]);
    const [first, second] = [(await a.json()) as { taskId: string }, (await b.json()) as { taskId: string }];
    expect(first.taskId).not.toBe(second.taskId);
    const replay = await create('alice');
    expect([
      replay.status,
      replay.headers.get('idempotent-replayed'),
      ((await replay.json()) as { taskId: string }).taskId,
    ]).toEqual([201, 'true', first.taskId]);
  });

  describe('the management port', () => {
    it('serves health, metrics and the docs without a token; the API port does not serve them', async () => {
      for (const path of ['/health/live', '/health/ready', '/metrics', '/openapi.json', '/docs']) {
        expect([path, (await fetch(management + path)).status]).toEqual([path, 200]);
        expect([path, (await fetch(api + path)).status]).toEqual([path, 404]);
      }
    });

    it('does not serve the API', async () => {
      const res = await send('POST', '/tasks', bearer('alice'), { title: 'Wrong port' }, management);
      expect([res.status, res.body.code]).toEqual([404, 'ROUTE_NOT_FOUND']);
    });

    it("lets the Swagger page's origin call the API with a token (CORS), and no other origin", async () => {
      const preflight = (origin: string) =>
        fetch(`${api}/tasks`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization,content-type',
          },
        });
      const allowed = await preflight(SWAGGER_ORIGIN);
      expect([allowed.status, allowed.headers.get('access-control-allow-origin')]).toEqual([204, SWAGGER_ORIGIN]);
      expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
      expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    });

    it('documents the bearer scheme and the 401/429 answers on every API operation, none on health', async () => {
      const document = (await (await fetch(`${management}/openapi.json`)).json()) as {
        components: { securitySchemes: Record<string, { type: string; scheme: string }> };
        paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
      };
      expect(document.components.securitySchemes['bearer']).toMatchObject({ type: 'http', scheme: 'bearer' });
      for (const [path, item] of Object.entries(document.paths)) {
        for (const [verb, operation] of Object.entries(item)) {
          const api = !path.startsWith('/health');
          expect([verb, path, operation.security]).toEqual([verb, path, api ? [{ bearer: [] }] : undefined]);
          if (api)
            expect([verb, path, Object.keys(operation.responses)]).toEqual([
              verb,
              path,
              expect.arrayContaining(['401', '429']),
            ]);
        }
      }
    });
  });
});
