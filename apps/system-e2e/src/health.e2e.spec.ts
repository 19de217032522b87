import { AppProcess, exitOf, getTestInfra, startApp, tamperedToken } from '@cqrs/testing';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { bearer, eventually, logLines, startSystem, type RunningSystem } from './support/system';

/**
 * A TCP proxy to `target`'s host and port that a test can take away (connections refused) and
 * bring back on the same port. TCP, not HTTP: TLS passes through, so the client still verifies
 * the registry's certificate (issued for 127.0.0.1) and sends its credentials to it alone.
 */
async function outageProxy(target: string) {
  const upstream = new URL(target);
  const upstreamPort = Number(upstream.port || (upstream.protocol === 'https:' ? 443 : 80));
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    return socket;
  };
  const server: Server = createServer((client) => {
    track(client);
    const forward = track(connect(upstreamPort, upstream.hostname));
    client.pipe(forward).pipe(client);
    client.on('error', () => forward.destroy());
    forward.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    /** The target's URL with the proxy's port. */
    url: target.replace(upstream.origin, `${upstream.protocol}//127.0.0.1:${port}`),
    down: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
    up: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
  };
}

const readiness = async (app: AppProcess) => {
  const response = await fetch(`${app.managementUrl}/health/ready`);
  return { status: response.status, text: await response.text() };
};

// The four built apps as real processes against the real stack: each must come up, report its
// dependencies ready, and describe itself; a bad configuration must stop it with a clear message.
// They run on databases, a slot, a topic and a group of their own (startSystem): on the shared
// ones, whatever the stack's slot retained from earlier runs would flood a fresh broker's topic
// and put the projector over its readiness lag limit.
describe('the four apps', () => {
  let system: RunningSystem;
  let apps: AppProcess[] = [];
  let registry: Awaited<ReturnType<typeof outageProxy>>;

  beforeAll(async () => {
    // The command service reaches the registry through a proxy this test can take away.
    registry = await outageProxy((await getTestInfra()).schemaRegistry.url);
    system = await startSystem({
      env: { LOG_LEVEL: 'warn' },
      // The query service logs its requests (info), which a test reads.
      perApp: { 'command-service': { SCHEMA_REGISTRY_URL: registry.url }, 'query-service': { LOG_LEVEL: 'info' } },
    });
    apps = [
      system.apps['command-service'],
      system.apps['query-service'],
      system.apps.projector,
      system.apps['outbox-relay'],
    ];
  });

  afterAll(async () => {
    await system?.stop();
    await registry?.down();
  });

  it.each([
    // one check per context where a context brings its own (tasks, then projects)
    ['command-service', ['postgres', 'encoders', 'projects-encoders', 'issuer']],
    ['query-service', ['postgres', 'change-feed', 'projects-change-feed', 'issuer']],
    [
      'projector',
      [
        'postgres',
        'kafka',
        'schema-registry',
        'projection:tasks',
        'projection:projects',
        'projection:projects-task-progress',
      ],
    ],
    ['outbox-relay', ['postgres', 'replication', 'kafka']],
  ])('%s is live and ready with every dependency up, saying up and nothing more', async (name, dependencies) => {
    const app = apps.find((a) => a.name === name)!;
    const live = await fetch(`${app.managementUrl}/health/live`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${app.managementUrl}/health/ready`);
    const body = (await ready.json()) as { status: string; info: Record<string, { status: string }> };
    expect(ready.status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.info).toEqual(Object.fromEntries(dependencies.map((d) => [d, { status: 'up' }])));
  });

  it('keeps the command service ready, and taking commands, while the registry is away and its encoders are warm', async () => {
    const command = system.apps['command-service'];
    await system.command('POST', '/tasks', { title: 'before the outage' });
    await registry.down();
    try {
      // Past the readiness cache (1 s by default): these answers come from checks run during the outage.
      await new Promise((r) => setTimeout(r, 1500));
      for (let i = 0; i < 3; i++) {
        expect(await readiness(command)).toEqual({
          status: 200,
          text: expect.stringContaining('"encoders":{"status":"up"}'),
        });
        await new Promise((r) => setTimeout(r, 600));
      }
      const { taskId } = await system.command('POST', '/tasks', { title: 'during the outage' });
      expect((await system.query(`/tasks/${taskId}`, { 'X-Min-Version': '1' })).status).toBe(200);
    } finally {
      await registry.up();
    }
  });

  it('turns a command service that never reached the registry not ready, telling why in its log only', async () => {
    const infra = await getTestInfra();
    const unreachable = await outageProxy(infra.schemaRegistry.url);
    await unreachable.down();
    const app = await startApp(
      'command-service',
      { DATABASE_URL: infra.postgres.writeUrl, SCHEMA_REGISTRY_URL: unreachable.url, LOG_LEVEL: 'warn' },
      { waitFor: '/health/live' },
    );
    try {
      for (let i = 0; i < 3; i++) {
        const ready = await fetch(`${app.managementUrl}/health/ready`);
        expect(ready.status).toBe(503);
        expect(await ready.json()).toEqual({
          type: expect.any(String),
          title: 'Service Unavailable',
          status: 503,
          detail: expect.any(String),
          code: 'SERVICE_UNAVAILABLE',
          instance: '/health/ready',
          checks: {
            postgres: { status: 'up' },
            encoders: { status: 'down' },
            'projects-encoders': { status: 'down' },
            issuer: { status: 'up' },
          },
        });
        await new Promise((r) => setTimeout(r, 600));
      }
      const down = logLines(app).filter((l) => String(l['msg']).startsWith('readiness: encoders is down'));
      expect(down).toHaveLength(1);
      expect(down[0]).toMatchObject({
        level: 'warn',
        dependency: 'encoders',
        msg: expect.stringContaining('ECONNREFUSED'),
      });
      // A command it cannot encode is a 503 the client may retry, nothing stored, no registry detail.
      const created = await fetch(`${app.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await bearer('health')) },
        body: JSON.stringify({ title: 'while the registry is away' }),
      });
      expect(created.status).toBe(503);
      expect(created.headers.get('retry-after')).toBe('5');
      expect(created.headers.get('content-type')).toContain('application/problem+json');
      const problem = await created.text();
      expect(JSON.parse(problem)).toMatchObject({ status: 503, code: 'SCHEMA_REGISTRY_UNAVAILABLE' });
      expect(problem).not.toContain('ECONNREFUSED');
    } finally {
      await app.stop();
    }
  });

  it('serves its OpenAPI document on the management port, declaring the bearer token the API needs', async () => {
    const response = await fetch(`${apps[0]!.managementUrl}/openapi.json`);
    const doc = (await response.json()) as {
      info: { title: string };
      servers: { url: string }[];
      paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(doc.info.title).toBe('command-service');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health/live', '/health/ready']));
    // What a client generator or the Swagger page needs: where the API is, and how to authenticate.
    expect(doc.servers).toEqual([{ url: apps[0]!.url }]);
    expect(doc.components.securitySchemes['bearer']).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/tasks']!['post']).toMatchObject({
      security: [{ bearer: [] }],
      responses: { '401': expect.anything(), '429': expect.anything() },
    });
    expect(doc.paths['/health/ready']!['get']!.security).toBeUndefined();
  });

  it.each(['command-service', 'query-service'] as const)(
    '%s serves health, metrics and docs on its management port only, and the API on its API port only',
    async (name) => {
      const app = system.apps[name];
      for (const path of ['/health/live', '/health/ready', '/metrics', '/openapi.json', '/docs']) {
        expect([path, (await fetch(`${app.managementUrl}${path}`)).status]).toEqual([path, 200]);
        const onApi = await fetch(`${app.url}${path}`, { headers: await bearer('health') });
        expect([path, onApi.status, onApi.headers.get('content-type')]).toEqual([
          path,
          404,
          expect.stringContaining('application/problem+json'),
        ]);
      }
      // The API is not reachable through the management port, not even with a valid token.
      const route =
        name === 'command-service' ? { method: 'POST', path: '/tasks' } : { method: 'GET', path: '/me/tasks' };
      const body = route.method === 'POST' ? JSON.stringify({ title: 'through the back door' }) : undefined;
      const onManagement = await fetch(`${app.managementUrl}${route.path}`, {
        method: route.method,
        headers: { 'content-type': 'application/json', ...(await bearer('health')) },
        body,
      });
      expect(onManagement.status).toBe(404);
      expect(await onManagement.json()).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND' });
      // On the API port the route is there, and asks for a token.
      const onApi = await fetch(`${app.url}${route.path}`, {
        method: route.method,
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect([onApi.status, onApi.headers.get('www-authenticate')]).toEqual([401, 'Bearer realm="api"']);
    },
  );

  it('logs an authenticated request with its Authorization header redacted, and never the token', async () => {
    const query = system.apps['query-service'];
    const token = (await bearer('log-reader')).authorization!.replace(/^Bearer /, '');
    const forged = tamperedToken(token);
    const probe = `redaction-${Date.now()}`;
    expect(
      (await fetch(`${query.url}/me/tasks`, { headers: { authorization: `Bearer ${token}`, 'x-probe': probe } }))
        .status,
    ).toBe(200);
    expect(
      (await fetch(`${query.url}/me/tasks`, { headers: { authorization: `Bearer ${forged}`, 'x-probe': probe } }))
        .status,
    ).toBe(401);
    // Every line logged during a request carries it (`req`); the request log line also its answer (`res`).
    type RequestLine = { req?: { headers?: Record<string, string> }; res?: { statusCode?: number } };
    const probed = () => (logLines(query) as RequestLine[]).filter((line) => line.req?.headers?.['x-probe'] === probe);
    await eventually(() =>
      expect(probed().flatMap((line) => (line.res ? [line.res.statusCode] : []))).toEqual([200, 401]),
    );
    for (const line of probed()) expect(line.req?.headers?.['authorization']).toBe('[redacted]');
    // Neither token, nor its claims or signature, is anywhere in the service's output.
    for (const part of new Set([...token.split('.').slice(1), ...forged.split('.').slice(1)]))
      expect(query.output()).not.toContain(part);
  });

  it('answers an unknown route with problem+json', async () => {
    const response = await fetch(`${apps[1]!.url}/no-such-route`, { headers: await bearer('health') });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND', instance: '/no-such-route' });
  });

  it('reports not ready, naming the failing dependency but not the error, when Postgres is unreachable', async () => {
    const app = await startApp(
      'query-service',
      { DATABASE_URL: 'postgres://cqrs_query:cqrs@127.0.0.1:1/cqrs_read', LOG_LEVEL: 'warn' },
      { waitFor: '/health/live' },
    );
    try {
      const ready = await fetch(`${app.managementUrl}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.headers.get('content-type')).toContain('application/problem+json');
      const text = await ready.text();
      expect(JSON.parse(text)).toMatchObject({
        status: 503,
        code: 'SERVICE_UNAVAILABLE',
        checks: {
          postgres: { status: 'down' },
          'change-feed': { status: 'down' },
          'projects-change-feed': { status: 'down' },
        },
      });
      for (const leak of ['127.0.0.1', 'ECONNREFUSED', 'cqrs_query', 'stack']) expect(text).not.toContain(leak);
      // Operators still learn why, from the log (written asynchronously: it may trail the answer).
      await eventually(() =>
        expect(logLines(app)).toContainEqual(
          expect.objectContaining({
            dependency: 'postgres',
            msg: expect.stringMatching(/^readiness: postgres is down: .*ECONNREFUSED/),
          }),
        ),
      );
    } finally {
      await app.stop();
    }
  });

  it('refuses to start on invalid configuration, naming the variable', async () => {
    const app = await startApp('projector', { KAFKA_BROKERS: '', DATABASE_URL: 'not a url' }, { waitFor: null });
    expect(await exitOf(app)).toBe(2);
    expect(app.output()).toContain('projector: invalid configuration');
    expect(app.output()).toContain('DATABASE_URL');
    expect(app.output()).toContain('KAFKA_BROKERS');
  });
});
