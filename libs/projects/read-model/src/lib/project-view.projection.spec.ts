import type { ProjectedEvent, Queryable } from '@cqrs/projection';
import { applyProjectEvent, projectsProjection } from './project-view.projection';

const PROJECT_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const OCCURRED_AT = 1767225600000;

/** A transaction that records its statements and answers each with no rows. */
function fakeTx() {
  const calls: { text: string; values?: unknown[] }[] = [];
  const tx: Queryable = {
    query: (text, values) => {
      calls.push({ text, values });
      return Promise.resolve({ rows: [] });
    },
  };
  return { tx, calls };
}

/** An event of projects.project.events as the projector hands it over: the decoded record and where it came from. */
function projected(type: string, version: number, fields: Record<string, unknown> = {}): ProjectedEvent {
  return {
    type,
    streamId: PROJECT_ID,
    version,
    data: {
      eventId: '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
      aggregateId: PROJECT_ID,
      aggregateVersion: version,
      occurredAt: OCCURRED_AT,
      correlationId: null,
      causationId: null,
      ...fields,
    },
    source: { topic: 'projects.project.events', partition: 0, offset: String(version - 1) },
  };
}

describe('projectsProjection', () => {
  it('reads projects.project.events with its contracts and keeps its own checkpoints', () => {
    expect(projectsProjection.topics).toEqual(['projects.project.events']);
    expect(projectsProjection.contracts.map((c) => c.eventType)).toContain('ProjectCreated');
    expect(projectsProjection.checkpointTable).toBe('projects_stream_checkpoints');
    expect(projectsProjection.notifyChannel).toBe('projects_changed');
  });

  it('ProjectCreated inserts the view, or moves an older row forward', async () => {
    const { tx, calls } = fakeTx();
    await projectsProjection.apply(tx, projected('ProjectCreated', 1, { ownerId: 'user-42', name: 'First project' }));
    expect(calls).toEqual([
      {
        text: expect.stringContaining('INSERT INTO projects_project_views'),
        values: [PROJECT_ID, 'user-42', 'First project', 1, new Date(OCCURRED_AT)],
      },
    ]);
    expect(calls[0].text).toContain('WHERE v.version < EXCLUDED.version');
  });

  it('ignores an event type it does not use', async () => {
    const { tx, calls } = fakeTx();
    await applyProjectEvent(tx, projected('NotAnEvent', 2));
    expect(calls).toEqual([]);
  });
});
