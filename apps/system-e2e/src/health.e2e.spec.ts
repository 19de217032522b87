import { AppProcess, exitOf, getTestInfra, startApp } from '@cqrs/testing';

// The four built apps as real processes against the real stack: each must come up, report its
// dependencies ready, and describe itself; a bad configuration must stop it with a clear message.
describe('the four apps', () => {
  const apps: AppProcess[] = [];

  beforeAll(async () => {
    const infra = await getTestInfra();
    const common = { KAFKA_BROKERS: infra.kafka.brokers.join(','), SCHEMA_REGISTRY_URL: infra.schemaRegistry.url, LOG_LEVEL: 'warn' };
    apps.push(
      ...(await Promise.all([
        startApp('command-service', { ...common, DATABASE_URL: infra.postgres.writeUrl }),
        startApp('query-service', { ...common, DATABASE_URL: infra.postgres.queryUrl }),
        startApp('projector', { ...common, DATABASE_URL: infra.postgres.readUrl }),
        startApp('outbox-relay', { ...common, DATABASE_URL: infra.postgres.relayUrl }),
      ])),
    );
  });

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
  });

  it.each(['command-service', 'query-service', 'projector', 'outbox-relay'])('%s is live and ready with every dependency up', async (name) => {
    const app = apps.find((a) => a.name === name)!;
    const live = await fetch(`${app.url}/health/live`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${app.url}/health/ready`);
    const body = (await ready.json()) as { status: string; info: Record<string, { status: string }> };
    expect(ready.status).toBe(200);
    expect(body.status).toBe('ok');
    expect(Object.values(body.info).every((d) => d.status === 'up')).toBe(true);
    expect(Object.keys(body.info)).toContain('postgres');
  });

  it('serves its OpenAPI document', async () => {
    const response = await fetch(`${apps[0]!.url}/openapi.json`);
    const doc = (await response.json()) as { info: { title: string }; paths: Record<string, unknown> };
    expect(doc.info.title).toBe('command-service');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health/live', '/health/ready']));
  });

  it('answers an unknown route with problem+json', async () => {
    const response = await fetch(`${apps[1]!.url}/no-such-route`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND', instance: '/no-such-route' });
  });

  it('reports not ready, with the failing dependency, when Postgres is unreachable', async () => {
    const app = await startApp('query-service', { DATABASE_URL: 'postgres://cqrs_query:cqrs@127.0.0.1:1/cqrs_read', LOG_LEVEL: 'warn' }, { waitFor: '/health/live' });
    try {
      const ready = await fetch(`${app.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.headers.get('content-type')).toContain('application/problem+json');
      expect(await ready.json()).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', checks: { postgres: { status: 'down' } } });
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
