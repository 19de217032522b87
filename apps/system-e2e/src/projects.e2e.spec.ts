import { randomUUID } from 'node:crypto';
import { bearer, eventually, startSystem, type RunningSystem } from './support/system';

// Two bounded contexts through the four built apps: the projects context's commands and queries,
// and its cross-context projection, which follows the tasks context's events into a project's
// progress. Every hop is real: event store, outbox, relay, Kafka, registry, projector, read model.
describe('two bounded contexts, end to end', () => {
  let system: RunningSystem;

  interface ProjectAnswer {
    projectId: string;
    name: string;
    status: string;
    version: number;
    progress: Record<string, number>;
  }

  /** A command answered with a problem: its status and body, for the error cases. */
  const send = async (method: string, path: string, body?: unknown, subject = system.subject) => {
    const response = await fetch(system.apps['command-service'].url + path, {
      method,
      headers: { 'content-type': 'application/json', ...(await bearer(subject)) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      body: (await response.json()) as Record<string, unknown>,
    };
  };
  const projectCommand = async (method: string, path: string, body?: unknown) =>
    (await system.command(method, path, body)) as unknown as { projectId: string; version: number };

  beforeAll(async () => {
    system = await startSystem();
  }, 240_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('a project follows its tasks from the other context, and reads its own writes', async () => {
    const { taskId: docs } = await system.command('POST', '/tasks', { title: 'Write the docs' });
    const { taskId: ship } = await system.command('POST', '/tasks', { title: 'Ship it' });
    const { projectId, version: created } = await projectCommand('POST', '/projects', { name: ' Release 2.0 ' });
    expect(created).toBe(1);
    await projectCommand('POST', `/projects/${projectId}/tasks`, { taskId: docs });
    const { version } = await projectCommand('POST', `/projects/${projectId}/tasks`, { taskId: ship });
    expect(version).toBe(3);

    // Read-your-writes on the projects read model: answered once it has version 3.
    const read = await system.query(`/projects/${projectId}`, { 'X-Min-Version': String(version) });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ projectId, name: 'Release 2.0', status: 'active', version: 3 });

    await system.command('POST', `/tasks/${docs}/start`);
    await system.command('POST', `/tasks/${docs}/complete`);
    // The tasks context's events reach the projects context's own table (no read-your-writes
    // version names them: the progress follows as the projector applies them).
    const progress = await eventually(async () => {
      const { body } = await system.query(`/projects/${projectId}`);
      const p = (body as unknown as ProjectAnswer).progress;
      if (p['completed'] !== 1 || p['open'] !== 1) throw new Error(`progress so far: ${JSON.stringify(p)}`);
      return p;
    }, 60_000);
    expect(progress).toEqual({ open: 1, started: 0, completed: 1, abandoned: 0, deleted: 0, unknown: 0, total: 2 });

    const mine = await system.query('/me/projects');
    expect((mine.body['items'] as ProjectAnswer[]).map((p) => p.projectId)).toEqual([projectId]);
  });

  it('refuses what the domain refuses, as problem+json, and hides other users’ projects', async () => {
    const { projectId } = await projectCommand('POST', '/projects', { name: 'Archive me' });
    const taskId = randomUUID();
    await projectCommand('POST', `/projects/${projectId}/tasks`, { taskId });
    const again = await send('POST', `/projects/${projectId}/tasks`, { taskId });
    expect([again.status, again.body['code'], again.type]).toEqual([
      409,
      'TASK_ALREADY_IN_PROJECT',
      'application/problem+json; charset=utf-8',
    ]);
    await projectCommand('POST', `/projects/${projectId}/archive`);
    const renamed = await send('POST', `/projects/${projectId}/rename`, { name: 'Too late' });
    expect([renamed.status, renamed.body['code']]).toEqual([409, 'PROJECT_ARCHIVED']);

    const blank = await send('POST', '/projects', { name: '   ' });
    expect([blank.status, blank.body['code']]).toEqual([400, 'VALIDATION_FAILED']);
    const notUuid = await send('POST', `/projects/${projectId}/tasks`, { taskId: 'not-a-task' });
    expect([notUuid.status, notUuid.body['code']]).toEqual([400, 'VALIDATION_FAILED']);

    const stranger = `stranger-${randomUUID().slice(0, 8)}`;
    const theirs = await send('POST', `/projects/${projectId}/archive`, undefined, stranger);
    expect([theirs.status, theirs.body['code']]).toEqual([404, 'PROJECT_NOT_FOUND']);
    await eventually(async () => {
      const own = await system.query(`/projects/${projectId}`);
      if (own.body['status'] !== 'archived') throw new Error(`status so far: ${String(own.body['status'])}`);
    });
    const read = await system.as(stranger).query(`/projects/${projectId}`);
    expect([read.status, read.body['code']]).toEqual([404, 'PROJECT_NOT_FOUND']);
  });
});
