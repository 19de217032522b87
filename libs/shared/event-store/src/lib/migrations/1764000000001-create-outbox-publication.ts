import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Name of the logical-replication publication the outbox-relay and Debezium read. */
export const OUTBOX_PUBLICATION = 'cqrs_outbox';

/**
 * Publishes the outbox's inserts for CDC (outbox-relay or Debezium with
 * `publication.autocreate.mode=disabled`). Creating a publication FOR TABLE requires owning the
 * table, which only the migrating role does, so it lives here. Skipped (with a notice) when the
 * publication already exists or the role lacks CREATE on the database.
 */
export class CreateOutboxPublication1764000000001 implements MigrationInterface {
  name = 'CreateOutboxPublication1764000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_publication WHERE pubname = '${OUTBOX_PUBLICATION}') THEN
          RAISE NOTICE 'publication ${OUTBOX_PUBLICATION} already exists; left unchanged';
        ELSIF NOT has_database_privilege(current_database(), 'CREATE') THEN
          RAISE NOTICE 'role % may not create publications here; create ${OUTBOX_PUBLICATION} as the table owner', current_user;
        ELSE
          -- Inserts only: deleting outbox rows in the same transaction must not reach Kafka.
          CREATE PUBLICATION ${OUTBOX_PUBLICATION} FOR TABLE outbox WITH (publish = 'insert');
        END IF;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP PUBLICATION IF EXISTS ${OUTBOX_PUBLICATION}`);
  }
}
