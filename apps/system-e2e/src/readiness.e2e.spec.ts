import { devToken, getTestInfra, repoRoot, startApp } from '@cqrs/testing';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { APP_NAMES, eventually, startSystem, type AppName, type RunningSystem } from './support/system';

const exec = promisify(execFile);

/** Stops or starts one service of the native stack (tools/local-stack/stack.sh). */
const stack = (command: 'stop-service' | 'start-service', service: 'postgres' | 'kafka' | 'issuer') =>
  exec('bash', ['tools/local-stack/stack.sh', command, service], { cwd: repoRoot(), timeout: 180_000 });

interface Readiness {
  status: number;
  checks: Record<string, { status: string }>;
}
async function readiness(system: RunningSystem, app: AppName): Promise<Readiness> {
  const response = await fetch(`${system.apps[app].managementUrl}/health/ready`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { info?: Readiness['checks']; checks?: Readiness['checks'] };
  // 200: terminus' body (info); 503: problem+json carrying terminus' details as `checks`.
  return { status: response.status, checks: body.checks ?? body.info ?? {} };
}

// The whole system on the native stack while Postgres, then Kafka, then the token issuer goes away
// and comes back: each app's readiness must turn false, naming the dependency, while it is down (an
// app that has the issuer's keys needs no issuer), and true again after.
// The outage is the stack's own (other test projects run e2e one after another, never beside this).
// Services from the environment (a shared cluster) are not ours to stop: then this is skipped.
// `npm test` exports the native stack's settings with CQRS_INFRA_SOURCE=native.
const source = process.env['CQRS_INFRA_SOURCE'] ?? (process.env['KAFKA_BROKERS'] ? 'env' : 'native');
const describeNative = source === 'native' ? describe : describe.skip;

describeNative('readiness follows the dependencies (native stack: stack.sh stops and starts them)', () => {
  let system: RunningSystem;

  beforeAll(async () => {
    const infra = await getTestInfra();
    if (infra.source === 'docker')
      throw new Error(
        'this test stops services of the native stack, but the infrastructure came from Docker: run it with CQRS_INFRA=native',
      );
    // Short relay and projector retries, so recovery shows within the test's patience.
    system = await startSystem({
      env: { LOG_LEVEL: 'warn' },
      perApp: {
        'outbox-relay': { OUTBOX_RETRY_MAX_MS: '1000' },
        projector: { PROJECTOR_RETRY_MAX_MS: '1000', PROJECTOR_GENERATION_CHECK_MS: '500' },
      },
    });
    for (const app of APP_NAMES) expect((await readiness(system, app)).status).toBe(200);
  });

  afterAll(async () => {
    // Whatever happened above, leave the stack as it was found.
    await Promise.all([
      stack('start-service', 'postgres'),
      stack('start-service', 'kafka'),
      stack('start-service', 'issuer'),
    ]).catch(() => undefined);
    await system?.stop();
  });

  const allReady = () =>
    eventually(
      async () => {
        for (const app of APP_NAMES) expect([app, (await readiness(system, app)).status]).toEqual([app, 200]);
      },
      90_000,
      500,
    );

  it('turns every app not ready while Postgres is down, naming it, and ready again when it is back', async () => {
    await stack('stop-service', 'postgres');
    try {
      await eventually(
        async () => {
          for (const app of APP_NAMES) {
            const ready = await readiness(system, app);
            expect([app, ready.status]).toEqual([app, 503]);
            const down = Object.entries(ready.checks)
              .filter(([, c]) => c.status === 'down')
              .map(([name]) => name);
            expect([app, down]).toEqual([app, expect.arrayContaining(['postgres'])]);
          }
        },
        20_000,
        250,
      );
    } finally {
      await stack('start-service', 'postgres');
    }
    await allReady();
    // And the system works again: a command goes all the way to the read side.
    const { taskId } = await system.command('POST', '/tasks', { title: 'after the outage' });
    expect((await system.query(`/tasks/${taskId}`, { 'X-Min-Version': '1' })).status).toBe(200);
  });

  it('turns the Kafka users (relay, projector) not ready while Kafka is down, and leaves the others ready', async () => {
    await stack('stop-service', 'kafka');
    try {
      await eventually(
        async () => {
          for (const app of ['outbox-relay', 'projector'] as const) {
            const ready = await readiness(system, app);
            expect([app, ready.status, ready.checks['kafka']?.status]).toEqual([app, 503, 'down']);
          }
          for (const app of ['command-service', 'query-service'] as const)
            expect([app, (await readiness(system, app)).status]).toEqual([app, 200]);
        },
        30_000,
        250,
      );
    } finally {
      await stack('start-service', 'kafka');
    }
    await allReady();
    // Ready again is not yet caught up: the relay and the projector's consumer group reconnect and
    // rejoin after the broker returns, so the write must come through, but may take a few waits.
    const { taskId } = await system.command('POST', '/tasks', { title: 'after the Kafka outage' });
    await eventually(
      async () => expect((await system.query(`/tasks/${taskId}`, { 'X-Min-Version': '1' })).status).toBe(200),
      60_000,
      500,
    );
  });

  it('keeps the apps that have the issuer’s keys ready and verifying tokens while the issuer is down; one that starts then waits for it', async () => {
    // A token the apps have never seen: it must be checked against the keys they hold, not a cache of verified tokens.
    const token = { authorization: `Bearer ${await devToken('issuer-outage')}` };
    await stack('stop-service', 'issuer');
    let late: Awaited<ReturnType<typeof startApp>> | undefined;
    try {
      for (const app of APP_NAMES) expect([app, (await readiness(system, app)).status]).toEqual([app, 200]);
      const created = await fetch(`${system.apps['command-service'].url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...token },
        body: JSON.stringify({ title: 'while the issuer is away' }),
      });
      expect(created.status).toBe(201);
      const { taskId } = (await created.json()) as { taskId: string };
      expect(
        (
          await fetch(`${system.apps['query-service'].url}/tasks/${taskId}`, {
            headers: { ...token, 'X-Min-Version': '1' },
          })
        ).status,
      ).toBe(200);

      // A query service starting now cannot load the keys: not ready, naming the issuer, and API requests are a 503 to retry.
      late = await startApp(
        'query-service',
        { DATABASE_URL: system.databases.read, LOG_LEVEL: 'warn' },
        { waitFor: '/health/live' },
      );
      const ready = await fetch(`${late.managementUrl}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ checks: { issuer: { status: 'down' } } });
      const refused = await fetch(`${late.url}/tasks/${taskId}`, { headers: token });
      expect([refused.status, refused.headers.get('retry-after')]).toEqual([503, '5']);
      expect(await refused.json()).toMatchObject({ code: 'AUTH_UNAVAILABLE' });

      await stack('start-service', 'issuer');
      const recovered = late;
      await eventually(
        async () => expect((await fetch(`${recovered.managementUrl}/health/ready`)).status).toBe(200),
        30_000,
        500,
      );
      expect((await fetch(`${recovered.url}/tasks/${taskId}`, { headers: token })).status).toBe(200);
    } finally {
      await stack('start-service', 'issuer');
      await late?.stop();
    }
  });
});
