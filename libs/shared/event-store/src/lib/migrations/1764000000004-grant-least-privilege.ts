import type { MigrationInterface, QueryRunner } from 'typeorm';
import { OUTBOX_PUBLICATION } from './1764000000001-create-outbox-publication';
import { APPEND_FUNCTION } from './1764000000002-create-append-function';
import { APPEND_BATCH_FUNCTION } from './1764000000003-create-append-batch-function';

/**
 * The write database's app roles. Migrations grant to these names, so every environment has roles
 * with them: locally the login roles themselves (tools/local-stack/postgres/init.sql), elsewhere
 * either the login roles or NOLOGIN roles granted to whatever login roles the apps use
 * (`GRANT cqrs_command TO app_command_2025`). REPLICATION is an attribute, not a privilege: the
 * relay's login role needs it itself.
 */
export const WRITE_DATABASE_ROLES = {
  /** command-service: appends (events and snapshots, outbox rows, idempotency keys). */
  command: 'cqrs_command',
  /** outbox-relay / Debezium: reads the outbox, through the publication's replication stream. */
  relay: 'cqrs_relay',
  /**
   * projector: reads `events` and `events_archive` (rebuilds, reconciliation), nothing else.
   * Granted by 1764000000005; it also needs CONNECT on the write database.
   */
  reader: 'cqrs_projector',
} as const;

const { command, relay } = WRITE_DATABASE_ROLES;

/**
 * Least privilege on the write database, enforced by grants (docs/architecture.md, "Database roles
 * and grants"). Before it, the owner's default privileges gave the command role DML on every table
 * and the relay SELECT on every table; this takes all of that back, stops the defaults, and grants
 * per object what each role's statements need:
 *
 * - `cqrs_command`: `events` SELECT, INSERT (append-only at the grant level: no UPDATE, DELETE or
 *   TRUNCATE; the trigger of the first migration stays as a second line); `snapshots` SELECT,
 *   INSERT, UPDATE (the upsert); `outbox` SELECT, INSERT, DELETE (the append deletes its own rows
 *   by id when `OUTBOX_DELETE_ROWS`); `idempotency_keys` SELECT, INSERT, UPDATE, DELETE (expired
 *   keys are taken over and pruned); EXECUTE on the two append functions. The identity sequence
 *   of `events` needs no grant: an identity column's INSERT draws from it.
 * - `cqrs_relay`: `outbox` SELECT, nothing else. It owns no object; the `cqrs_outbox` publication
 *   belongs to the owner.
 * - PUBLIC: nothing (functions are executable by PUBLIC unless revoked).
 *
 * Run as the owner role: only its own default privileges can be altered, and only an object's
 * owner grants on it. Re-running it converges to the same grants.
 */
export class GrantLeastPrivilege1764000000004 implements MigrationInterface {
  name = 'GrantLeastPrivilege1764000000004';

  async up(q: QueryRunner): Promise<void> {
    // The broad grants of earlier setups: what the default privileges gave, and the defaults.
    await q.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, ${command}, ${relay}`);
    await q.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, ${command}, ${relay}`);
    await q.query(`REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC, ${command}, ${relay}`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM ${command}, ${relay}`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM ${command}, ${relay}`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON FUNCTIONS FROM ${command}, ${relay}`);
    // Functions the owner creates later are not executable by everyone either (a database-wide default).
    await q.query(`ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC`);

    await q.query(`GRANT SELECT, INSERT ON events TO ${command}`);
    await q.query(`GRANT SELECT, INSERT, UPDATE ON snapshots TO ${command}`);
    await q.query(`GRANT SELECT, INSERT, DELETE ON outbox TO ${command}`);
    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO ${command}`);
    await q.query(`GRANT EXECUTE ON FUNCTION ${APPEND_FUNCTION}, ${APPEND_BATCH_FUNCTION} TO ${command}`);

    await q.query(`GRANT SELECT ON outbox TO ${relay}`);
    // The publication is the owner's (1764000000001); say so if an earlier setup left another owner.
    await q.query(`
      DO $$
      DECLARE
        owner name := (SELECT pubowner::regrole::name FROM pg_publication WHERE pubname = '${OUTBOX_PUBLICATION}');
      BEGIN
        IF owner IS NOT NULL AND owner <> current_user THEN
          RAISE WARNING 'publication ${OUTBOX_PUBLICATION} is owned by %, not by %: recreate it as the owner role', owner, current_user;
        END IF;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Back to the broad grants the earlier migrations ran under.
    await q.query(`ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC`);
    await q.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO PUBLIC`);
    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON events, snapshots, outbox, idempotency_keys TO ${command}`);
    await q.query(`GRANT SELECT ON events, snapshots, outbox, idempotency_keys TO ${relay}`);
    await q.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${command}`,
    );
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${command}`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${relay}`);
  }
}
