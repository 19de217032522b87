import type { ReadModelMigrations } from '@cqrs/projection';
import { CreateProjectsReadModel1796317769464 } from './migrations/1796317769464-create-projects-read-model';

/** One row per project, at the version of the last event applied. */
export const PROJECTS_VIEWS_TABLE = 'projects_project_views';
/** The tasks of each project (project_id, task_id, added_at). */
export const PROJECTS_PROJECT_TASKS_TABLE = 'projects_project_tasks';
/** Every task's status, as the tasks context's events tell it (the cross-context projection). */
export const PROJECTS_TASK_STATES_TABLE = 'projects_task_states';
/** NOTIFY channel of the projects projection: `{"c":[[projectId,version],…]}` per committed batch. */
export const PROJECTS_CHANGED_CHANNEL = 'projects_changed';
/** Per stream and projection, the version applied (`checkpointTableSql`). */
export const PROJECTS_CHECKPOINT_TABLE = 'projects_stream_checkpoints';

/** The projects read model's migrations, oldest first, with their own history table. */
export const projectsReadModel: ReadModelMigrations = {
  context: 'projects',
  migrations: [CreateProjectsReadModel1796317769464],
  migrationsTable: 'projects_read_migrations',
};
