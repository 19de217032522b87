import { PROJECTION_CONTROLS_TABLE } from '@cqrs/projection';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { READ_DATABASE_ROLES } from '../schema/read-model.schema';

const { projector, query } = READ_DATABASE_ROLES;

/**
 * What an operator asked of each projection (the admin API's pause and resume), one row per
 * projection. Every projector instance reads it on each check and stops or starts its consumer
 * to match, so a pause holds for every replica and survives restarts. The projector role reads
 * and writes it; the query role gets nothing.
 */
export class CreateProjectionControls1765000000004 implements MigrationInterface {
  name = 'CreateProjectionControls1765000000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ${PROJECTION_CONTROLS_TABLE} (
        projection  text        PRIMARY KEY,
        paused      boolean     NOT NULL DEFAULT false,
        changed_by  text,
        changed_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`REVOKE ALL ON ${PROJECTION_CONTROLS_TABLE} FROM PUBLIC, ${query}`);
    await q.query(`GRANT SELECT, INSERT, UPDATE ON ${PROJECTION_CONTROLS_TABLE} TO ${projector}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS ${PROJECTION_CONTROLS_TABLE}`);
  }
}
