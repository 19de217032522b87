import { checkpointTableSql, READ_DATABASE_ROLES } from '@cqrs/projection';
import type { MigrationInterface, QueryRunner } from 'typeorm';

const { projector, query } = READ_DATABASE_ROLES;

/**
 * The projects read model's first shape: the project views, the tasks of each project, the
 * status of every task as the tasks context announces it (written by the cross-context
 * projection), and the projections' checkpoints. Grants are per object, as the least-privilege
 * setup of the read database expects: the projector writes every table, the query service reads
 * them. Run as the owner role, which owns what it creates.
 */
export class CreateProjectsReadModel1796317769464 implements MigrationInterface {
  name = 'CreateProjectsReadModel1796317769464';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE IF NOT EXISTS projects_project_views (
        id         text        NOT NULL,
        owner      text        NOT NULL,
        name       text        NOT NULL,
        status     text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
        version    bigint      NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT projects_project_views_pkey PRIMARY KEY (id)
      )`);
    await q.query(
      `CREATE INDEX IF NOT EXISTS projects_project_views_owner ON projects_project_views (owner, updated_at DESC)`,
    );
    await q.query(`
      CREATE TABLE IF NOT EXISTS projects_project_tasks (
        project_id text        NOT NULL,
        task_id    text        NOT NULL,
        added_at   timestamptz NOT NULL,
        CONSTRAINT projects_project_tasks_pkey PRIMARY KEY (project_id, task_id)
      )`);
    await q.query(`
      CREATE TABLE IF NOT EXISTS projects_task_states (
        task_id    text        NOT NULL,
        status     text        NOT NULL,
        version    bigint      NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT projects_task_states_pkey PRIMARY KEY (task_id)
      )`);
    await q.query(checkpointTableSql('projects_stream_checkpoints'));
    const tables = 'projects_project_views, projects_project_tasks, projects_task_states, projects_stream_checkpoints';
    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${tables} TO ${projector}`);
    await q.query(`GRANT SELECT ON ${tables} TO ${query}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS projects_stream_checkpoints`);
    await q.query(`DROP TABLE IF EXISTS projects_task_states`);
    await q.query(`DROP TABLE IF EXISTS projects_project_tasks`);
    await q.query(`DROP TABLE IF EXISTS projects_project_views`);
  }
}
