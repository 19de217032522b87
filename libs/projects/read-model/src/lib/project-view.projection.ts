import type { ProjectedEvent, Queryable, StreamProjectionDefinition } from '@cqrs/projection';
import {
  type ProjectCreated,
  projectsProjectEventsContracts,
  projectsProjectEventsTopic,
  type ProjectRenamed,
  type ProjectArchived,
  type TaskAddedToProject,
} from '@cqrs/projects-contracts';
import {
  PROJECTS_CHANGED_CHANNEL,
  PROJECTS_CHECKPOINT_TABLE,
  PROJECTS_PROJECT_TASKS_TABLE,
  PROJECTS_VIEWS_TABLE,
} from './read-model';

/**
 * Applies one event of projects.project.events to `projects_project_views` and
 * `projects_project_tasks`, in the projector's transaction. `data`
 * is the decoded record (the contract's current version). Every statement is conditional on the
 * row's version, so an event applied twice changes nothing the second time. An event that can
 * never apply is a `PoisonEventError` (from `@cqrs/projection`): the projector parks it.
 */
export async function applyProjectEvent(tx: Queryable, event: ProjectedEvent): Promise<void> {
  switch (event.type) {
    case 'ProjectCreated': {
      const data = event.data as ProjectCreated;
      await tx.query(
        `INSERT INTO projects_project_views AS v (id, owner, name, status, version, created_at, updated_at)
         VALUES ($1, $2, $3, 'active', $4, $5, $5)
         ON CONFLICT (id) DO UPDATE
           SET owner = EXCLUDED.owner, name = EXCLUDED.name, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
           WHERE v.version < EXCLUDED.version`,
        [event.streamId, data.ownerId, data.name, event.version, new Date(data.occurredAt)],
      );
      return;
    }
    case 'ProjectRenamed': {
      const data = event.data as ProjectRenamed;
      await tx.query(
        `UPDATE projects_project_views SET name = $4, version = $2, updated_at = $3 WHERE id = $1 AND version < $2`,
        [event.streamId, event.version, new Date(data.occurredAt), data.name],
      );
      return;
    }
    case 'ProjectArchived': {
      const data = event.data as ProjectArchived;
      await tx.query(
        `UPDATE projects_project_views SET status = 'archived', version = $2, updated_at = $3 WHERE id = $1 AND version < $2`,
        [event.streamId, event.version, new Date(data.occurredAt)],
      );
      return;
    }
    case 'TaskAddedToProject': {
      const data = event.data as TaskAddedToProject;
      await tx.query(
        `INSERT INTO projects_project_tasks (project_id, task_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
        [event.streamId, data.taskId, new Date(data.occurredAt)],
      );
      await tx.query(`UPDATE projects_project_views SET version = $2, updated_at = $3 WHERE id = $1 AND version < $2`, [
        event.streamId,
        event.version,
        new Date(data.occurredAt),
      ]);
      return;
    }
    default:
      // A type this projection does not use (or not yet): the projection contract is to ignore it.
      return;
  }
}

/** The projects projection, as the projector hosts it. */
export const projectsProjection: StreamProjectionDefinition = {
  name: 'projects',
  topics: [projectsProjectEventsTopic],
  contracts: projectsProjectEventsContracts,
  checkpointTable: PROJECTS_CHECKPOINT_TABLE,
  tables: [PROJECTS_VIEWS_TABLE, PROJECTS_PROJECT_TASKS_TABLE],
  notifyChannel: PROJECTS_CHANGED_CHANNEL,
  apply: applyProjectEvent,
};
