import { devToken, startApp, tamperedToken, untrustedToken, type AppProcess } from '@cqrs/testing';
import { randomUUID } from 'node:crypto';
import { bearer, startSystem, type Caller, type RunningSystem } from './support/system';

// Who may do what, through the four built apps with tokens from the stack's development issuer:
// a request needs a token the issuer signed for this API; a task is its creator's (anyone else is
// told it does not exist, on either side, and cannot tell it from a missing one); a user's lists
// are theirs or an admin's; each user has a request budget of their own.
describe('bearer tokens and ownership, through the whole system', () => {
  let system: RunningSystem;
  let alice: Caller;
  let bob: Caller;
  let admin: Caller;

  beforeAll(async () => {
    system = await startSystem({ env: { LOG_LEVEL: 'warn' } });
    alice = system.as('alice');
    bob = system.as('bob');
    admin = system.as('carol', { roles: ['admin'] });
  });

  afterAll(async () => {
    await system?.stop();
  });

  /** An answer about task `id` with the id written `<id>` and times `<ms>`, to compare answers about different tasks. */
  const normalised = ({ status, body }: { status: number; body: Record<string, unknown> }, id: string) => ({
    status,
    body: JSON.parse(
      JSON.stringify(body)
        .replaceAll(id, '<id>')
        .replace(/"waitedMs":\d+/g, '"waitedMs":"<ms>"')
        .replace(/\d+ ms\b/g, '<ms> ms'),
    ) as unknown,
  });

  it("makes a task its creator's: others get 404 for it and 403 for the creator's lists, an admin reads everything", async () => {
    const { taskId, version } = await alice.command('POST', '/tasks', { title: 'Alice’s secret plan' });
    const visible = `${taskId}:${version}`;

    // Alice reads her own write at once (read-your-writes), under /tasks/:id, /me and /users/alice.
    expect(await alice.query(`/tasks/${taskId}`, { 'X-Min-Version': String(version) })).toMatchObject({
      status: 200,
      body: { taskId, ownerId: 'alice', version: 1 },
    });
    expect((await alice.query('/me/tasks', { 'X-Min-Version': visible })).body).toMatchObject({ items: [{ taskId }] });
    expect((await alice.query('/users/alice/tasks')).body).toMatchObject({ items: [{ taskId }] });
    expect((await alice.query('/me/stats')).body).toMatchObject({ ownerId: 'alice', total: 1 });

    // Bob cannot read it, change it, or list Alice's tasks; his own lists do not have it.
    expect(await bob.query(`/tasks/${taskId}`)).toMatchObject({
      status: 404,
      body: { code: 'TASK_NOT_FOUND', detail: `task ${taskId} does not exist` },
    });
    await expect(bob.command('POST', `/tasks/${taskId}/start`)).rejects.toThrow(/answered 404: .*TASK_NOT_FOUND/);
    await expect(bob.command('PATCH', `/tasks/${taskId}`, { title: 'Bob’s now' })).rejects.toThrow(
      /answered 404: .*TASK_NOT_FOUND/,
    );
    await expect(bob.command('DELETE', `/tasks/${taskId}`)).rejects.toThrow(/answered 404: .*TASK_NOT_FOUND/);
    for (const path of ['/users/alice/tasks', '/users/alice/stats']) {
      expect([path, await bob.query(path)]).toEqual([
        path,
        { status: 403, body: expect.objectContaining({ status: 403, code: 'FORBIDDEN' }) },
      ]);
    }
    // (Alice's read-your-writes above means the read model has the task.)
    expect((await bob.query('/me/tasks')).body).toEqual({ items: [], nextCursor: null });
    expect((await bob.query('/me/stats')).body).toMatchObject({ ownerId: 'bob', total: 0 });

    // An admin reads the task and Alice's lists.
    expect(await admin.query(`/tasks/${taskId}`)).toMatchObject({ status: 200, body: { taskId, ownerId: 'alice' } });
    expect((await admin.query('/users/alice/tasks')).body).toMatchObject({
      items: [{ taskId, title: 'Alice’s secret plan' }],
    });
    expect((await admin.query('/users/alice/stats')).body).toMatchObject({ total: 1, byStatus: { open: 1 } });

    // Bob's attempts changed nothing: Alice's task is as she left it, and she can still start it.
    const started = await alice.command('POST', `/tasks/${taskId}/start`, undefined, { 'If-Match': `"${version}"` });
    expect(started).toEqual({ taskId, version: 2 });
    expect((await alice.query(`/tasks/${taskId}`, { 'X-Min-Version': '2' })).body).toMatchObject({
      title: 'Alice’s secret plan',
      status: 'started',
      version: 2,
    });
  });

  it("answers someone else's task exactly as a task that does not exist, so ids cannot be probed", async () => {
    const { taskId } = await alice.command('POST', '/tasks', { title: 'Not Bob’s business' });
    expect((await alice.query(`/tasks/${taskId}`, { 'X-Min-Version': '1' })).status).toBe(200);
    const missing = randomUUID();
    // Each probe as Bob, on Alice's task and on a task that never existed: the same answer.
    const probes: [string, (id: string) => Promise<{ status: number; body: Record<string, unknown> }>][] = [
      ['GET /tasks/:id', (id) => bob.query(`/tasks/${id}`)],
      ['GET /tasks/:id, X-Min-Version: 2', (id) => bob.query(`/tasks/${id}`, { 'X-Min-Version': '2' })],
      ['GET /me/tasks, X-Min-Version: <id>:1', (id) => bob.query('/me/tasks', { 'X-Min-Version': `${id}:1` })],
      ['POST /tasks/:id/start', (id) => raw(system, 'command-service', 'POST', `/tasks/${id}/start`, bob)],
      [
        'POST /tasks/:id/start, If-Match: "2"',
        (id) => raw(system, 'command-service', 'POST', `/tasks/${id}/start`, bob, { 'If-Match': '"2"' }),
      ],
    ];
    const answers = { theirs: [] as unknown[], none: [] as unknown[] };
    for (const [probe, send] of probes) {
      answers.theirs.push({ probe, ...normalised(await send(taskId), taskId) });
      answers.none.push({ probe, ...normalised(await send(missing), missing) });
    }
    expect(answers.theirs).toEqual(answers.none);
  });

  it('takes the owner from the token only: a body ownerId is refused (400), so no one creates a task in another’s name', async () => {
    const response = await fetch(`${system.apps['command-service'].url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await bob.auth()) },
      body: JSON.stringify({ title: 'Pinned on Alice', ownerId: 'alice' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: 'ownerId' }] });
  });

  it("keeps Idempotency-Keys per user: the same key from two users is two requests, never the other's answer", async () => {
    const key = { 'Idempotency-Key': `shared-key-${randomUUID()}` };
    const body = { title: 'Same body, same key' };
    const first = await alice.command('POST', '/tasks', body, key);
    const again = await alice.command('POST', '/tasks', body, key);
    const bobs = await bob.command('POST', '/tasks', body, key);
    expect(again).toEqual(first);
    expect(bobs.taskId).not.toBe(first.taskId);
    expect(await bob.query(`/tasks/${bobs.taskId}`, { 'X-Min-Version': '1' })).toMatchObject({
      status: 200,
      body: { ownerId: 'bob' },
    });
  });

  describe.each(['command-service', 'query-service'] as const)(
    '%s refuses a request without a token it can trust',
    (name) => {
      const request = (headers: Record<string, string>) =>
        name === 'command-service'
          ? fetch(`${system.apps[name].url}/tasks`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...headers },
              body: JSON.stringify({ title: 'by whom?' }),
            })
          : fetch(`${system.apps[name].url}/me/tasks`, { headers });
      const bearerOf = (token: string) => ({ authorization: `Bearer ${token}` });

      it('asks for one when there is none (401 AUTHENTICATION_REQUIRED, WWW-Authenticate: Bearer)', async () => {
        const response = await request({});
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer realm="api"');
        expect(response.headers.get('content-type')).toContain('application/problem+json');
        expect(await response.json()).toMatchObject({ status: 401, code: 'AUTHENTICATION_REQUIRED' });
      });

      it.each([
        ['signed by a key the issuer never published', () => untrustedToken('mallory'), /signature does not verify/],
        [
          'changed after it was signed',
          async () => tamperedToken(await devToken('mallory')),
          /signature does not verify/,
        ],
        ['expired', () => devToken('mallory', { expiresIn: -120 }), /expired/],
        ['issued for another API', () => devToken('mallory', { audience: 'another-api' }), /not issued for this API/],
      ])('refuses a token %s (401 INVALID_TOKEN, saying why)', async (_, token, why) => {
        const response = await request(bearerOf(await token()));
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(
          /^Bearer realm="api", error="invalid_token", error_description=".+"$/,
        );
        expect(await response.json()).toMatchObject({
          status: 401,
          code: 'INVALID_TOKEN',
          detail: expect.stringMatching(why),
        });
      });
    },
  );

  describe('a request budget per user', () => {
    let limited: AppProcess;

    beforeAll(async () => {
      // A query service of its own on the same read model, with a budget small enough to spend.
      limited = await startApp('query-service', {
        DATABASE_URL: system.databases.read,
        RATE_LIMIT_REQUESTS: '3',
        LOG_LEVEL: 'warn',
      });
    });

    afterAll(async () => {
      await limited?.stop();
    });

    const get = async (who: string, path = '/me/stats') =>
      fetch(`${limited.url}${path}`, { headers: await bearer(who) });

    it('answers 429 RATE_LIMITED with Retry-After to a user over the budget, and leaves other users and the probes alone', async () => {
      for (let i = 0; i < 3; i++) expect((await get('eager')).status).toBe(200);
      const over = await get('eager');
      expect(over.status).toBe(429);
      expect(over.headers.get('content-type')).toContain('application/problem+json');
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(over.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect(await over.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      // Someone else still gets answers; so do health probes, which are not the API.
      expect((await get('patient')).status).toBe(200);
      expect((await fetch(`${limited.managementUrl}/health/ready`)).status).toBe(200);
    });

    it("counts every API route against the user's one budget", async () => {
      const statuses = [];
      for (const path of ['/me/stats', '/me/tasks', '/users/spread/stats', '/users/spread/tasks'])
        statuses.push((await get('spread', path)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
    });
  });
});

/** A request as `caller` to one of the API services, its answer whatever the status. */
async function raw(
  system: RunningSystem,
  app: 'command-service' | 'query-service',
  method: string,
  path: string,
  caller: Caller,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${system.apps[app].url}${path}`, {
    method,
    headers: { ...(await caller.auth()), ...headers },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
