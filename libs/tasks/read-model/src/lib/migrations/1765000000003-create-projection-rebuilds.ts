import type { MigrationInterface, QueryRunner } from 'typeorm';
import { READ_DATABASE_ROLES } from '../schema/read-model.schema';

const { projector, query } = READ_DATABASE_ROLES;

/**
 * Progress of rebuilds, one row per rebuild (`projector rebuild`): which generation it fills,
 * from which source, the Kafka end offsets it noted before reading the store (where the
 * generation's consumer group starts), the store position it has applied through, events done
 * and expected, and how it ended. The CLI writes it (a store rebuild moves `store_position` in
 * the transaction that writes the rows, so a resume continues exactly there); the running
 * projector reads it and shows it as `cqrs_projection_rebuild_*` gauges; `--resume` finds an
 * interrupted one here.
 *
 * The projector role reads, inserts and updates it (the CLI's writes go through its pool, with
 * the generation's rows); the query role gets nothing.
 */
export class CreateProjectionRebuilds1765000000003 implements MigrationInterface {
  name = 'CreateProjectionRebuilds1765000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE projection_rebuilds (
        id                bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        projection        text             NOT NULL,
        generation        integer          NOT NULL,
        source            text             NOT NULL,
        status            text             NOT NULL DEFAULT 'running',
        phase             text             NOT NULL DEFAULT 'starting',
        kafka_offsets     jsonb            NOT NULL DEFAULT '[]'::jsonb,
        store_position    bigint,
        events_at_position bigint          NOT NULL DEFAULT 0,
        events_done       bigint           NOT NULL DEFAULT 0,
        events_expected   bigint,
        events_per_second double precision NOT NULL DEFAULT 0,
        resumes           integer          NOT NULL DEFAULT 0,
        runner            text,
        error             text,
        started_at        timestamptz      NOT NULL DEFAULT now(),
        updated_at        timestamptz      NOT NULL DEFAULT now(),
        finished_at       timestamptz,
        CONSTRAINT projection_rebuilds_source_check CHECK (source IN ('store', 'kafka')),
        CONSTRAINT projection_rebuilds_status_check CHECK (status IN ('running', 'interrupted', 'failed', 'done', 'abandoned')),
        CONSTRAINT projection_rebuilds_generation_check CHECK (generation > 0)
      )`);
    await q.query(`CREATE INDEX projection_rebuilds_generation_idx ON projection_rebuilds (projection, generation)`);
    await q.query(`REVOKE ALL ON projection_rebuilds FROM PUBLIC, ${query}`);
    await q.query(`GRANT SELECT, INSERT, UPDATE ON projection_rebuilds TO ${projector}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS projection_rebuilds`);
  }
}
