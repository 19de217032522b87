import { AppProcess, exitOf, startApp } from '@cqrs/testing';
import { startSystem, type RunningSystem } from './support/system';

// The four built apps as real processes against the real stack: each must come up, report its
// dependencies ready, and describe itself; a bad configuration must stop it with a clear message.
// They run on databases, a slot, a topic and a group of their own (startSystem): on the shared
// ones, whatever the stack's slot retained from earlier runs would flood a fresh broker's topic
// and put the projector over its readiness lag limit.
describe('the four apps', () => {
  let system: RunningSystem;
  let apps: AppProcess[] = [];

  beforeAll(async () => {
    system = await startSystem({ env: { LOG_LEVEL: 'warn' } });
    apps = [system.apps['command-service'], system.apps['query-service'], system.apps.projector, system.apps['outbox-relay']];
  });

  afterAll(async () => {
    await system?.stop();
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
