import { createCqrsClient, ConflictError, ProblemError, queryKeys, type TaskPage, type TaskView } from '@cqrs/client';
import { repoRoot } from '@cqrs/testing';
import { isCancelledError, MutationObserver, QueryClient, QueryObserver } from '@tanstack/query-core';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bearer, startSystem, type RunningSystem } from './support/system';

const exec = promisify(execFile);

// The typed client (@cqrs/client) against the built services, through a real QueryClient: what a
// web console does, minus the browser.
describe('the typed client against the running system', () => {
  let system: RunningSystem;
  const queryClients: QueryClient[] = [];

  /** A client for `subject`, and every request it sends (to count attempts and see headers). */
  const clientFor = (subject: string, roles: string[] = []) => {
    const requests: Request[] = [];
    const client = createCqrsClient({
      baseUrls: {
        commands: system.apps['command-service'].url,
        queries: system.apps['query-service'].url,
        admin: `${system.apps.projector.url}/admin/cqrs`,
      },
      token: async () => (await bearer(subject, roles))['authorization']!.slice('Bearer '.length),
      fetch: (request) => {
        requests.push(request);
        return fetch(request);
      },
    });
    const queryClient = new QueryClient();
    queryClients.push(queryClient);
    return { client, requests, queryClient };
  };
  beforeAll(async () => {
    system = await startSystem();
  }, 240_000);

  afterAll(async () => {
    for (const queryClient of queryClients) queryClient.clear();
    await system?.stop();
  });

  it('is typed with what the services serve: the committed types match their OpenAPI documents', async () => {
    const node = existsSync(join(repoRoot(), 'node_modules/.bin/node'))
      ? join(repoRoot(), 'node_modules/.bin/node')
      : process.execPath;
    const run = await exec(
      node,
      [
        'libs/client/cli/openapi-codegen.mts',
        '--check',
        '--from',
        `commands=${system.apps['command-service'].managementUrl}/openapi.json`,
        '--from',
        `queries=${system.apps['query-service'].managementUrl}/openapi.json`,
        '--from',
        `admin=${system.apps.projector.managementUrl}/openapi.json`,
      ],
      { cwd: repoRoot() },
    ).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect(run).toMatchObject({ stdout: expect.stringContaining('up to date'), stderr: '' });
  });

  it('reads its own writes: a created task is in its detail and its list at once', async () => {
    const { client, requests, queryClient } = clientFor(`client-ryw-${randomUUID()}`);
    const created = await new MutationObserver(queryClient, client.tasks.create()).mutate({ title: 'Typed' });
    expect(created.version).toBe(1);

    const task = await queryClient.fetchQuery(client.tasks.detail(created.taskId));
    expect(task).toMatchObject({ taskId: created.taskId, title: 'Typed', status: 'open', version: 1 });
    const page = await queryClient.fetchQuery(client.tasks.myList());
    expect(page.items.map((t) => t.taskId)).toEqual([created.taskId]);
    const stats = await queryClient.fetchQuery(client.tasks.myStats());
    expect(stats).toMatchObject({ total: 1, byStatus: { open: 1 } });
    // Each read named the version the command answered; the query side waited for it if need be.
    expect(requests.slice(1).map((r) => [new URL(r.url).pathname, r.headers.get('x-min-version')])).toEqual([
      [`/tasks/${created.taskId}`, '1'],
      ['/me/tasks', `${created.taskId}:1`],
      ['/me/stats', `${created.taskId}:1`],
    ]);
    expect(queryClient.getQueryData(client.tasks.detail(created.taskId).queryKey)?.title).toBe('Typed');
  });

  it('sends If-Match with the version read: a stale one is a ConflictError, not retried', async () => {
    const { client, requests, queryClient } = clientFor(`client-conflict-${randomUUID()}`);
    const { taskId } = await new MutationObserver(queryClient, client.tasks.create()).mutate({ title: 'Contended' });
    const read = await queryClient.fetchQuery(client.tasks.detail(taskId));
    // Someone else (here: the same user elsewhere) changes it first.
    await new MutationObserver(queryClient, client.tasks.rename()).mutate({
      id: taskId,
      title: 'Renamed first',
      expectedVersion: read.version,
    });
    const before = requests.length;
    const stale = new MutationObserver(queryClient, client.tasks.start()).mutate({
      id: taskId,
      expectedVersion: read.version,
    });
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    await expect(stale).rejects.toMatchObject({ status: 412, code: 'VERSION_MISMATCH' });
    expect(requests.slice(before).map((r) => [r.method, r.headers.get('if-match')])).toEqual([
      ['POST', `"${read.version}"`],
    ]);

    // Read again, then the command goes through.
    const fresh = await queryClient.fetchQuery({ ...client.tasks.detail(taskId), staleTime: 0 });
    expect(fresh).toMatchObject({ title: 'Renamed first', version: 2 });
    await expect(
      new MutationObserver(queryClient, client.tasks.start()).mutate({ id: taskId, expectedVersion: fresh.version }),
    ).resolves.toMatchObject({ taskId, version: 3 });
  });

  it('answers a missing task with a 404 ProblemError, after one request', async () => {
    const { client, requests, queryClient } = clientFor(`client-404-${randomUUID()}`);
    const missing = queryClient.fetchQuery(client.tasks.detail(randomUUID()));
    await expect(missing).rejects.toBeInstanceOf(ProblemError);
    await expect(missing).rejects.toMatchObject({ status: 404, code: 'TASK_NOT_FOUND', title: 'Not Found' });
    expect(requests).toHaveLength(1);
    // Another user's task is as missing as one that does not exist.
    const { client: owner, queryClient: ownerQueries } = clientFor(`client-owner-${randomUUID()}`);
    const { taskId } = await new MutationObserver(ownerQueries, owner.tasks.create()).mutate({ title: 'Mine' });
    await expect(queryClient.fetchQuery(client.tasks.detail(taskId))).rejects.toMatchObject({
      status: 404,
      code: 'TASK_NOT_FOUND',
    });
    expect(requests).toHaveLength(2);
  });

  it('cancels the HTTP request when TanStack cancels the query', async () => {
    const { client, requests, queryClient } = clientFor(`client-abort-${randomUUID()}`);
    const { taskId } = await new MutationObserver(queryClient, client.tasks.create()).mutate({ title: 'Waited for' });
    // A version the read model will not reach: the query side holds the request (up to 2 s) waiting.
    client.versions.record('task', taskId, 99);
    const options = client.tasks.detail(taskId);
    const started = Date.now();
    const pending = queryClient.fetchQuery(options);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const request = requests.at(-1)!;
    expect([new URL(request.url).pathname, request.headers.get('x-min-version'), request.signal.aborted]).toEqual([
      `/tasks/${taskId}`,
      '99',
      false,
    ]);
    await queryClient.cancelQueries({ queryKey: options.queryKey });
    const outcome = await pending.catch((error: unknown) => error);
    expect(isCancelledError(outcome)).toBe(true);
    expect(request.signal.aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(requests.at(-1)).toBe(request); // and no retry followed
  });

  it('refreshes an observed list when a command invalidates it', async () => {
    const { client, queryClient } = clientFor(`client-invalidate-${randomUUID()}`);
    const { taskId } = await new MutationObserver(queryClient, client.tasks.create()).mutate({ title: 'Watched' });
    const list = new QueryObserver(queryClient, client.tasks.myList());
    const stats = new QueryObserver(queryClient, client.tasks.myStats());
    const results: TaskPage[] = [];
    const unsubscribe = [
      list.subscribe((result) => result.data && results.push(result.data)),
      stats.subscribe(() => undefined),
    ];
    try {
      const first = await list.refetch();
      expect(first.data?.items.map((t: TaskView) => [t.taskId, t.status])).toEqual([[taskId, 'open']]);

      await new MutationObserver(queryClient, client.tasks.start()).mutate({ id: taskId });
      await new MutationObserver(queryClient, client.tasks.complete()).mutate({ id: taskId });
      // The mutation settles once the queries it invalidated have been fetched again, at its version.
      expect(list.getCurrentResult().data?.items.map((t) => [t.taskId, t.status, t.version])).toEqual([
        [taskId, 'completed', 3],
      ]);
      expect(stats.getCurrentResult().data).toMatchObject({ total: 1, byStatus: { completed: 1, open: 0 } });
      expect(results.at(-1)?.items[0]?.status).toBe('completed');
    } finally {
      unsubscribe.forEach((stop) => stop());
    }
  });

  it('covers projects: create, add a task, read the progress, rename', async () => {
    const { client, queryClient } = clientFor(`client-projects-${randomUUID()}`);
    const { taskId } = await new MutationObserver(queryClient, client.tasks.create()).mutate({ title: 'In a project' });
    const { projectId } = await new MutationObserver(queryClient, client.projects.create()).mutate({ name: 'Typed' });
    await new MutationObserver(queryClient, client.projects.addTask()).mutate({ id: projectId, taskId });
    const project = await queryClient.fetchQuery(client.projects.detail(projectId));
    expect(project).toMatchObject({ projectId, name: 'Typed', status: 'active', version: 2 });
    const renamed = await new MutationObserver(queryClient, client.projects.rename()).mutate({
      id: projectId,
      name: 'Renamed',
      expectedVersion: project.version,
    });
    expect(renamed.version).toBe(3);
    const mine = await queryClient.fetchQuery(client.projects.myList());
    expect(mine.items.map((p) => [p.projectId, p.name])).toEqual([[projectId, 'Renamed']]);
    expect(queryClient.getQueryData(queryKeys.projects.myList())).toBe(mine);
  });

  it('drives the projector’s admin API with the admin role, and refuses it to anyone else', async () => {
    const { client, queryClient } = clientFor(`client-admin-${randomUUID()}`, ['admin']);
    const list = await queryClient.fetchQuery(client.admin.projections());
    expect(list.projections.map((p) => p.name)).toEqual(expect.arrayContaining(['tasks', 'projects']));
    const detail = new QueryObserver(queryClient, client.admin.projection('tasks'));
    const unsubscribe = detail.subscribe(() => undefined);
    try {
      await detail.refetch();
      expect(detail.getCurrentResult().data?.state).toBe('running');
      await new MutationObserver(queryClient, client.admin.pause()).mutate({ name: 'tasks' });
      expect(detail.getCurrentResult().data?.state).toBe('paused'); // refetched by the invalidation
      await new MutationObserver(queryClient, client.admin.resume()).mutate({ name: 'tasks' });
      expect(detail.getCurrentResult().data?.state).toBe('running');
    } finally {
      unsubscribe();
    }
    const missing = queryClient.fetchQuery(client.admin.projection('no-such-projection'));
    await expect(missing).rejects.toMatchObject({ status: 404, code: 'PROJECTION_NOT_FOUND' });

    const { client: user, queryClient: userQueries, requests } = clientFor(`client-not-admin-${randomUUID()}`);
    const refused = userQueries.fetchQuery(user.admin.projections());
    await expect(refused).rejects.toBeInstanceOf(ProblemError);
    await expect(refused).rejects.toMatchObject({ status: 403 });
    expect(requests).toHaveLength(1);
  });
});
