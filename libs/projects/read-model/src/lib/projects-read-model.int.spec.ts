import type { ProjectedEvent } from '@cqrs/projection';
import { createReadTestDatabase, type ReadTestDatabase } from '@cqrs/projection/testing';
import { getTestInfra, INSUFFICIENT_PRIVILEGE, sqlstate } from '@cqrs/testing';
import { Pool } from 'pg';
import { ProjectReader } from './project.reader';
import { applyProjectEvent } from './project-view.projection';
import { projectsReadModel } from './read-model';
import { applyTaskEvent } from './task-progress.projection';

// The projects read model on a real read database, with the roles production uses: the
// projector's statements as cqrs_projector, the reader as cqrs_query.
const PROJECT = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const OWNER = 'user-42';
const T0 = Date.parse('2026-01-01T09:00:00Z');
let offset = 0;
const event = (
  type: string,
  streamId: string,
  version: number,
  fields: Record<string, unknown> = {},
): ProjectedEvent => ({
  type,
  streamId,
  version,
  data: { aggregateId: streamId, aggregateVersion: version, occurredAt: T0 + version * 1000, ...fields },
  source: { topic: 't', partition: 0, offset: String(offset++) },
});

describe('projects read model (real PostgreSQL, production roles)', () => {
  let db: ReadTestDatabase;
  let projector: Pool;
  let query: Pool;
  let reader: ProjectReader;

  const apply = async (...events: [typeof applyProjectEvent, ProjectedEvent][]) => {
    const client = await projector.connect();
    try {
      await client.query('BEGIN');
      for (const [fn, e] of events) await fn(client, e);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };

  beforeAll(async () => {
    const infra = await getTestInfra();
    db = await createReadTestDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerReadUrl,
      projectorUrl: infra.postgres.readUrl,
      queryUrl: infra.postgres.queryUrl,
      prefix: 'projects_rm',
      migrations: [projectsReadModel],
    });
    projector = new Pool({ connectionString: db.projectorUrl, max: 2 });
    query = new Pool({ connectionString: db.queryUrl, max: 2 });
    reader = new ProjectReader(query);
  });

  afterAll(async () => {
    await projector?.end();
    await query?.end();
    await db?.drop();
  });

  it('answers a project with its tasks’ progress, whichever context’s events came first', async () => {
    const [a, b, c] = ['task-a', 'task-b', 'task-c'];
    // task a's events before the project knew of it; b after; c never seen by the tasks side
    await apply([applyTaskEvent, event('TaskCreated', a, 1)], [applyTaskEvent, event('TaskStarted', a, 2)]);
    await apply(
      [applyProjectEvent, event('ProjectCreated', PROJECT, 1, { ownerId: OWNER, name: 'Launch' })],
      [applyProjectEvent, event('TaskAddedToProject', PROJECT, 2, { taskId: a })],
      [applyProjectEvent, event('TaskAddedToProject', PROJECT, 3, { taskId: b })],
      [applyProjectEvent, event('TaskAddedToProject', PROJECT, 4, { taskId: c })],
    );
    await apply(
      [applyTaskEvent, event('TaskCreated', b, 1)],
      [applyTaskEvent, event('TaskUpdated', b, 2)],
      [applyTaskEvent, event('TaskCompleted', b, 3)],
      [applyTaskEvent, event('TaskCompleted', a, 3)],
    );
    expect(await reader.get(PROJECT)).toEqual({
      projectId: PROJECT,
      ownerId: OWNER,
      name: 'Launch',
      status: 'active',
      version: 4,
      createdAt: new Date(T0 + 1000).toISOString(),
      updatedAt: new Date(T0 + 4000).toISOString(),
      progress: { open: 0, started: 0, completed: 2, abandoned: 0, deleted: 0, unknown: 1, total: 3 },
    });
  });

  it('renames and archives, and applying an older version again changes nothing', async () => {
    await apply(
      [applyProjectEvent, event('ProjectRenamed', PROJECT, 5, { name: 'Launch v2' })],
      [applyProjectEvent, event('ProjectArchived', PROJECT, 6)],
    );
    await apply(
      [applyProjectEvent, event('ProjectRenamed', PROJECT, 5, { name: 'stale' })],
      [applyProjectEvent, event('ProjectCreated', PROJECT, 1, { ownerId: OWNER, name: 'stale' })],
      [applyTaskEvent, event('TaskStarted', 'task-b', 2)],
    );
    const project = await reader.get(PROJECT);
    expect(project).toMatchObject({ name: 'Launch v2', status: 'archived', version: 6 });
    expect(project?.progress).toMatchObject({ completed: 2, unknown: 1 });
  });

  it('lists an owner’s projects, most recently changed first, and tells versions only to their owner', async () => {
    const other = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';
    await apply([applyProjectEvent, event('ProjectCreated', other, 1, { ownerId: OWNER, name: 'Other' })]);
    await apply([applyProjectEvent, event('ProjectCreated', 'theirs', 1, { ownerId: 'user-7', name: 'Theirs' })]);
    expect((await reader.listByOwner(OWNER, 10)).map((p) => p.name)).toEqual(['Launch v2', 'Other']);
    expect(await reader.versions([PROJECT, 'theirs'], OWNER)).toEqual(new Map([[PROJECT, 6]]));
    expect(await reader.get('missing')).toBeNull();
  });

  it('gives the query role reads only', async () => {
    for (const table of ['projects_project_views', 'projects_project_tasks', 'projects_task_states'])
      expect(await sqlstate(db.queryUrl, `DELETE FROM ${table}`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await sqlstate(db.projectorUrl, 'DROP TABLE projects_task_states')).toBe(INSUFFICIENT_PRIVILEGE);
  });
});
