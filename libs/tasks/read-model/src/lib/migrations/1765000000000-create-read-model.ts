import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  createGenerationIndexes,
  createGenerationTables,
  pointViewsAt,
  READ_MODEL_TABLES,
  TASKS_PROJECTION,
} from '../schema/read-model.schema';

/**
 * The read database's first shape: the generation registry, generation 1 of every read model
 * (active), and the stable views the query side reads. Run as the owner role so the default
 * privileges give the projector DML and the query service SELECT on all of it.
 */
export class CreateReadModel1765000000000 implements MigrationInterface {
  name = 'CreateReadModel1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE projection_generations (
        projection   text        NOT NULL,
        generation   integer     NOT NULL,
        status       text        NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        activated_at timestamptz,
        retired_at   timestamptz,
        CONSTRAINT projection_generations_pkey PRIMARY KEY (projection, generation),
        CONSTRAINT projection_generations_status_check CHECK (status IN ('building', 'active', 'retired')),
        CONSTRAINT projection_generations_generation_check CHECK (generation > 0)
      )`);
    // At most one generation answers queries at a time.
    await q.query(
      `CREATE UNIQUE INDEX projection_generations_one_active ON projection_generations (projection) WHERE status = 'active'`,
    );
    await createGenerationTables(q, 1);
    await createGenerationIndexes(q, 1);
    await pointViewsAt(q, 1);
    await q.query(
      `INSERT INTO projection_generations (projection, generation, status, activated_at) VALUES ($1, 1, 'active', now())`,
      [TASKS_PROJECTION],
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const view of READ_MODEL_TABLES) await q.query(`DROP VIEW IF EXISTS ${view}`);
    const rows = (await q.query(`SELECT generation FROM projection_generations WHERE projection = $1`, [
      TASKS_PROJECTION,
    ])) as {
      generation: number;
    }[];
    for (const { generation } of rows) {
      for (const table of READ_MODEL_TABLES) await q.query(`DROP TABLE IF EXISTS ${table}_g${generation}`);
    }
    await q.query(`DROP TABLE IF EXISTS projection_generations`);
  }
}
