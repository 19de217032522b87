// Least privilege on the read database, enforced by grants: each role runs what it needs (which
// works) and every statement it must not run (which Postgres refuses with SQLSTATE 42501).
import { getTestInfra, INSUFFICIENT_PRIVILEGE, sqlstate, withClient, type TestInfra } from '@cqrs/testing';
import { Pool } from 'pg';
import { createReadModelTestDatabase, type ReadModelTestDatabase } from '../testing';
import { migrateReadModel } from './migrate';
import { GenerationAdmin } from './schema/generations';
import { QUERY_VIEWS, READ_DATABASE_ROLES } from './schema/read-model.schema';

const user = (url: string) => new URL(url).username;

const TASK_ROW = (
  table: string,
  id: string,
) => `INSERT INTO ${table} (task_id, owner_id, title, priority, status, created_at, updated_at, version)
  VALUES ('${id}', 'u-1', 't', 'NORMAL', 'open', now(), now(), 1)`;

/** What the projector may not do: change the schema, the generation registry, or empty a table. */
const PROJECTOR_FORBIDDEN = [
  `TRUNCATE task_view_g1`,
  `TRUNCATE record_overrides`,
  `INSERT INTO projection_generations (projection, generation, status) VALUES ('tasks', 99, 'building')`,
  `UPDATE projection_generations SET status = 'retired'`,
  `DELETE FROM projection_generations`,
  `DELETE FROM record_overrides`,
  `DELETE FROM projection_rebuilds`,
  `DELETE FROM projection_controls`,
  `SELECT * FROM read_model_migrations`,
  `CREATE TABLE sneaky (id int)`,
  `CREATE OR REPLACE VIEW task_view AS SELECT * FROM task_view_g1`,
  `DROP TABLE task_view_g1`,
  `ALTER TABLE task_view_g1 ADD COLUMN sneaky int`,
];

/** What the query role may not do: write anything, or read past the read models' views. */
const QUERY_FORBIDDEN = [
  `SELECT * FROM task_view_g1`,
  `SELECT * FROM stream_checkpoints_g1`,
  `SELECT * FROM parked_events`,
  `SELECT * FROM parked_events_g1`,
  `SELECT * FROM partition_positions`,
  `SELECT * FROM record_overrides`,
  `SELECT * FROM projection_generations`,
  `SELECT * FROM projection_rebuilds`,
  `SELECT * FROM projection_controls`,
  `SELECT * FROM read_model_migrations`,
  TASK_ROW('task_view', 'q-1'),
  TASK_ROW('task_view_g1', 'q-1'),
  `UPDATE task_view SET title = 'x'`,
  `DELETE FROM task_view`,
  `DELETE FROM user_task_stats`,
  `UPDATE stream_checkpoints SET version = 0`,
  `TRUNCATE task_view_g1`,
  `INSERT INTO record_overrides (topic, "partition", "offset", value, original_code) VALUES ('t', 0, 0, '\\x00', 'x')`,
  `CREATE TABLE sneaky (id int)`,
];

let infra: TestInfra;
const databases: ReadModelTestDatabase[] = [];

beforeAll(async () => {
  infra = await getTestInfra();
});
afterAll(() => Promise.all(databases.map((db) => db.drop())));

// `fresh`: a new database. `legacy`: one set up like the stack's read database before these grants
// (the owner's default privileges gave every new table to the projector and the query role), which
// the least-privilege migration must take back.
describe.each(['fresh', 'legacy'] as const)('read database grants (%s database)', (setup) => {
  let db: ReadModelTestDatabase;
  let as: { projector: string; query: string; command: string; relay: string };

  beforeAll(async () => {
    const projector = user(infra.postgres.readUrl);
    const query = user(infra.postgres.queryUrl);
    // The migrations grant to these names; other login roles must be their members.
    expect([projector, query]).toEqual([READ_DATABASE_ROLES.projector, READ_DATABASE_ROLES.query]);
    db = await createReadModelTestDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerReadUrl,
      projectorUrl: infra.postgres.readUrl,
      queryUrl: infra.postgres.queryUrl,
      prefix: 'grants_read',
      migrate: false,
    });
    databases.push(db);
    if (setup === 'legacy') {
      await withClient(db.ownerUrl, async (owner) => {
        await owner.query(
          `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${projector}`,
        );
        await owner.query(
          `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${projector}`,
        );
        await owner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${query}`);
        await owner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON SEQUENCES TO ${query}`);
      });
    }
    await migrateReadModel(db.ownerUrl);
    const on = (url: string) => {
      const u = new URL(url);
      u.pathname = `/${db.name}`;
      return u.toString();
    };
    as = {
      projector: db.projectorUrl,
      query: db.queryUrl,
      command: on(infra.postgres.writeUrl),
      relay: on(infra.postgres.relayUrl),
    };
  });

  describe('cqrs_projector', () => {
    it.each([
      TASK_ROW('task_view_g1', 'p-1'),
      `UPDATE task_view_g1 SET title = 'u' WHERE task_id = 'p-1'`,
      `SELECT * FROM task_view_g1`,
      `DELETE FROM task_view_g1 WHERE task_id = 'p-1'`,
      `INSERT INTO user_task_stats_g1 (owner_id) VALUES ('u-1') ON CONFLICT (owner_id) DO UPDATE SET open_count = user_task_stats_g1.open_count + 1`,
      `INSERT INTO stream_checkpoints_g1 (stream_id, version) VALUES ('p-1', 1) ON CONFLICT (stream_id) DO UPDATE SET version = 2`,
      `INSERT INTO parked_events_g1 (source_topic, source_partition, source_offset, reason, error_code, error_message, attempts, first_failed_at)
         VALUES ('t', 0, 0, 'r', 'c', 'm', 1, now())`,
      `DELETE FROM parked_events_g1`,
      `INSERT INTO partition_positions_g1 (topic, partition, last_offset) VALUES ('t', 0, 1)
         ON CONFLICT (topic, partition) DO UPDATE SET last_offset = GREATEST(partition_positions_g1.last_offset, EXCLUDED.last_offset)`,
      `SELECT generation FROM projection_generations WHERE status = 'active'`,
      `INSERT INTO record_overrides (topic, "partition", "offset", value, original_code) VALUES ('t', 0, 0, '\\x00', 'x')
         ON CONFLICT (topic, "partition", "offset") DO UPDATE SET value = EXCLUDED.value`,
      `SELECT "offset", value FROM record_overrides`,
      `SELECT pg_notify('tasks_changed', 'x')`,
    ])('may run: %s', async (sql) => {
      expect(await sqlstate(as.projector, sql)).toBeUndefined();
    });

    it.each(PROJECTOR_FORBIDDEN)('is refused (42501): %s', async (sql) => {
      expect(await sqlstate(as.projector, sql)).toBe(INSUFFICIENT_PRIVILEGE);
    });

    it('writes the tables of a generation a rebuild creates; the query role cannot read them', async () => {
      const ownerPool = new Pool({ connectionString: db.ownerUrl, max: 1 });
      try {
        const admin = new GenerationAdmin(ownerPool);
        const generation = await admin.startBuilding();
        expect(await sqlstate(as.projector, TASK_ROW(`task_view_g${generation}`, 'r-1'))).toBeUndefined();
        expect(await sqlstate(as.projector, `TRUNCATE task_view_g${generation}`)).toBe(INSUFFICIENT_PRIVILEGE);
        expect(await sqlstate(as.query, `SELECT * FROM task_view_g${generation}`)).toBe(INSUFFICIENT_PRIVILEGE);
        await admin.abandon(generation);
      } finally {
        await ownerPool.end();
      }
    });
  });

  describe('cqrs_query', () => {
    it.each(QUERY_VIEWS)('may read the view %s', async (view) => {
      expect(await sqlstate(as.query, `SELECT * FROM ${view} LIMIT 1`)).toBeUndefined();
    });

    it.each(QUERY_FORBIDDEN)('is refused (42501): %s', async (sql) => {
      expect(await sqlstate(as.query, sql)).toBe(INSUFFICIENT_PRIVILEGE);
    });
  });

  it('app roles own nothing, and only the documented privileges are granted', async () => {
    const owner = user(infra.postgres.ownerReadUrl);
    const owners = await withClient(db.ownerUrl, (c) =>
      c.query(
        `SELECT DISTINCT relowner::regrole::text AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace`,
      ),
    );
    expect(owners.rows).toEqual([{ owner }]);
    const grants = await withClient(db.ownerUrl, (c) =>
      c.query<{ grantee: string; table_name: string; privileges: string }>(
        `SELECT grantee, table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) AS privileges
           FROM information_schema.role_table_grants
          WHERE table_schema = 'public' AND grantee <> $1
          GROUP BY grantee, table_name ORDER BY grantee, table_name`,
        [owner],
      ),
    );
    const dml = 'DELETE,INSERT,SELECT,UPDATE';
    expect(grants.rows).toEqual([
      { grantee: READ_DATABASE_ROLES.projector, table_name: 'parked_events_g1', privileges: dml },
      { grantee: READ_DATABASE_ROLES.projector, table_name: 'partition_positions_g1', privileges: dml },
      { grantee: READ_DATABASE_ROLES.projector, table_name: 'projection_controls', privileges: 'INSERT,SELECT,UPDATE' },
      { grantee: READ_DATABASE_ROLES.projector, table_name: 'projection_generations', privileges: 'SELECT' },
      { grantee: READ_DATABASE_ROLES.projector, table_name: 'projection_rebuilds', privileges: 'INSERT,SELECT,UPDATE' },
      { grantee: READ_DATABASE_ROLES.projector, table_name: 'record_overrides', privileges: 'INSERT,SELECT,UPDATE' },
      { grantee: READ_DATABASE_ROLES.projector, table_name: 'stream_checkpoints_g1', privileges: dml },
      { grantee: READ_DATABASE_ROLES.projector, table_name: 'task_view_g1', privileges: dml },
      { grantee: READ_DATABASE_ROLES.projector, table_name: 'user_task_stats_g1', privileges: dml },
      { grantee: READ_DATABASE_ROLES.query, table_name: 'stream_checkpoints', privileges: 'SELECT' },
      { grantee: READ_DATABASE_ROLES.query, table_name: 'task_view', privileges: 'SELECT' },
      { grantee: READ_DATABASE_ROLES.query, table_name: 'user_task_stats', privileges: 'SELECT' },
    ]);
    const defaults = await withClient(db.ownerUrl, (c) =>
      c.query(
        `SELECT defaclacl::text FROM pg_default_acl WHERE defaclacl::text ~ '(cqrs_projector|cqrs_query|^\\{=|,=)'`,
      ),
    );
    expect(defaults.rows).toEqual([]);
  });

  it.each(['command', 'relay'] as const)('cqrs_%s may not even connect (42501)', async (role) => {
    expect(await sqlstate(as[role], 'SELECT 1')).toBe(INSUFFICIENT_PRIVILEGE);
  });
});

describe('the stack’s read database (init.sql)', () => {
  it.each(['writeUrl', 'relayUrl'] as const)(
    'refuses the write side’s role of %s a connection (42501)',
    async (key) => {
      const url = new URL(infra.postgres[key]);
      url.pathname = new URL(infra.postgres.readUrl).pathname;
      expect(await sqlstate(url.toString(), 'SELECT 1')).toBe(INSUFFICIENT_PRIVILEGE);
    },
  );
});
