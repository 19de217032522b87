import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  grantGenerationTables,
  QUERY_VIEWS,
  READ_DATABASE_ROLES,
  READ_MODEL_TABLES,
  TASKS_PROJECTION,
} from '../schema/read-model.schema';

const { projector, query } = READ_DATABASE_ROLES;

/**
 * Least privilege on the read database, enforced by grants (docs/architecture.md, "Database roles
 * and grants"). Before it, the owner's default privileges gave the projector DML and the query
 * service SELECT on every table; this takes all of that back, stops the defaults, and grants per
 * object what each role's statements need:
 *
 * - `cqrs_projector`: SELECT, INSERT, UPDATE, DELETE on every generation's tables (a rebuild's new
 *   generation gets the same from `createGenerationTables`), SELECT on `projection_generations`
 *   (which generation is active), SELECT, INSERT, UPDATE on `record_overrides` (redrive's upsert).
 * - `cqrs_query`: SELECT on the views `task_view`, `user_task_stats`, `stream_checkpoints`; not
 *   the generation tables, the generation registry, parked records, positions or overrides.
 * - PUBLIC: nothing.
 *
 * Run as the owner role: only its own default privileges can be altered, and only an object's
 * owner grants on it. Re-running it converges to the same grants.
 */
export class GrantLeastPrivilege1765000000002 implements MigrationInterface {
  name = 'GrantLeastPrivilege1765000000002';

  async up(q: QueryRunner): Promise<void> {
    // The broad grants of earlier setups: what the default privileges gave, and the defaults.
    await q.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, ${projector}, ${query}`);
    await q.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, ${projector}, ${query}`);
    await q.query(`REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC, ${projector}, ${query}`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM ${projector}, ${query}`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM ${projector}, ${query}`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON FUNCTIONS FROM ${projector}, ${query}`);
    await q.query(`ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC`);

    await q.query(`GRANT SELECT ON projection_generations TO ${projector}`);
    await q.query(`GRANT SELECT, INSERT, UPDATE ON record_overrides TO ${projector}`);
    const generations = (await q.query(
      `SELECT generation FROM projection_generations WHERE projection = $1 AND to_regclass($2::text || '_g' || generation) IS NOT NULL`,
      [TASKS_PROJECTION, READ_MODEL_TABLES[0]],
    )) as { generation: number }[];
    for (const { generation } of generations) await grantGenerationTables(q, generation);

    await q.query(`GRANT SELECT ON ${QUERY_VIEWS.join(', ')} TO ${query}`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Back to the broad grants the earlier migrations ran under.
    await q.query(`ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC`);
    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${projector}`);
    await q.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${query}`);
    await q.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${projector}`,
    );
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${projector}`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${query}`);
  }
}
