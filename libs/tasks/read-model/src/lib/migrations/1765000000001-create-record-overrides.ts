import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Operator fixes that must outlive a generation: when a parked record is redriven with a
 * corrected value, the correction is kept here (keyed by the record's position), and every
 * consumer of the topic, a rebuild included, reads the corrected value at that position.
 * Otherwise a rebuild would meet the original poison again and park its stream once more.
 */
export class CreateRecordOverrides1765000000001 implements MigrationInterface {
  name = 'CreateRecordOverrides1765000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE record_overrides (
        topic         text        NOT NULL,
        "partition"   integer     NOT NULL,
        "offset"      bigint      NOT NULL,
        value         bytea       NOT NULL,
        original_code text        NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT record_overrides_pkey PRIMARY KEY (topic, "partition", "offset")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS record_overrides`);
  }
}
