// Least privilege on the write database, enforced by grants: each role runs what it needs (which
// works) and every statement it must not run (which Postgres refuses with SQLSTATE 42501).
import { getTestInfra, INSUFFICIENT_PRIVILEGE, sqlstate, withClient, type TestInfra } from '@cqrs/testing';
import { randomUUID } from 'node:crypto';
import { counterDecider, createThrowawayDatabase, fakeWireEncoder, type ThrowawayDatabase } from '../testing';
import { createEventStoreDataSource } from './data-source';
import { handleCommand } from './handle-command';
import { hashRequest } from './idempotency';
import { migrateEventStore } from './migrate';
import { APPEND_FUNCTION, OUTBOX_PUBLICATION, WRITE_DATABASE_ROLES } from './migrations';
import { PostgresEventStore } from './postgres-event-store';

const user = (url: string) => new URL(url).username;

const OUTBOX_ROW = `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, aggregateversion)
  VALUES (gen_random_uuid(), 'test', 'a-1', 'Added', '\\x00', 1)`;

const EVENT_ROW = `(event_id, stream_id, stream_type, version, type, data) VALUES (gen_random_uuid(), 's', 't', 1, 'x', '{}')`;

/**
 * What the command role may not do: rewrite, move or drop history (archiving is the owner's, even
 * with the setting the trigger lets through), touch another table, change the schema.
 */
const COMMAND_FORBIDDEN = [
  `UPDATE events SET data = '{}'`,
  `DELETE FROM events`,
  `SET LOCAL cqrs.archiving = 'on'; DELETE FROM events`,
  `TRUNCATE events`,
  `TRUNCATE snapshots`,
  `TRUNCATE outbox`,
  `TRUNCATE idempotency_keys`,
  `UPDATE snapshots SET version = version`,
  `INSERT INTO events_archive (global_position, event_id, stream_id, stream_type, version, type, data, recorded_at)
     VALUES (1, gen_random_uuid(), 's', 't', 1, 'x', '{}', now())`,
  `UPDATE events_archive SET data = '{}'`,
  `DELETE FROM events_archive`,
  `TRUNCATE events_archive`,
  `INSERT INTO archived_streams (stream_id, stream_type, version, events, last_recorded_at) VALUES ('s', 't', 1, 1, now())`,
  `UPDATE archived_streams SET version = version + 1`,
  `DELETE FROM archived_streams`,
  `TRUNCATE archived_streams`,
  `UPDATE outbox SET payload = '\\x00'`,
  `SELECT * FROM event_store_migrations`,
  `CREATE TABLE sneaky (id int)`,
  `ALTER TABLE events DISABLE TRIGGER events_append_only`,
  `DROP TABLE events`,
];

/** What the relay may not do: anything but read the outbox. */
const RELAY_FORBIDDEN = [
  `SELECT * FROM events`,
  `SELECT * FROM snapshots`,
  `SELECT * FROM idempotency_keys`,
  `SELECT * FROM event_store_migrations`,
  `SELECT * FROM events_archive`,
  `SELECT * FROM archived_streams`,
  `INSERT INTO events ${EVENT_ROW}`,
  OUTBOX_ROW,
  `UPDATE outbox SET payload = '\\x00'`,
  `DELETE FROM outbox`,
  `TRUNCATE outbox`,
  `SELECT * FROM ${APPEND_FUNCTION}('s', 't', 0, '{}', ARRAY[gen_random_uuid()], ARRAY['x'], ARRAY[1], ARRAY['{}'::jsonb], NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL)`,
  `CREATE TABLE sneaky (id int)`,
  `CREATE PUBLICATION sneaky FOR TABLE outbox`,
  `ALTER PUBLICATION ${OUTBOX_PUBLICATION} ADD TABLE events`,
];

/** What the projector (rebuilds, reconciliation) may not do: anything but read the events, hot and archived. */
const READER_FORBIDDEN = [
  `INSERT INTO events ${EVENT_ROW}`,
  `UPDATE events SET data = '{}'`,
  `DELETE FROM events`,
  `SET LOCAL cqrs.archiving = 'on'; DELETE FROM events`,
  `TRUNCATE events`,
  `INSERT INTO events_archive (global_position, event_id, stream_id, stream_type, version, type, data, recorded_at)
     VALUES (1, gen_random_uuid(), 's', 't', 1, 'x', '{}', now())`,
  `UPDATE events_archive SET data = '{}'`,
  `DELETE FROM events_archive`,
  `SELECT * FROM archived_streams`,
  `SELECT * FROM snapshots`,
  `SELECT * FROM outbox`,
  `SELECT * FROM idempotency_keys`,
  `SELECT * FROM event_store_migrations`,
  `SELECT * FROM ${APPEND_FUNCTION}('s', 't', 0, '{}', ARRAY[gen_random_uuid()], ARRAY['x'], ARRAY[1], ARRAY['{}'::jsonb], NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL)`,
  `CREATE TABLE sneaky (id int)`,
];

let infra: TestInfra;
const databases: ThrowawayDatabase[] = [];

beforeAll(async () => {
  infra = await getTestInfra();
});
afterAll(() => Promise.all(databases.map((db) => db.drop())));

// `fresh`: a new database. `legacy`: one set up like the stack's databases before these grants
// (the owner's default privileges gave every new table to the command role and the relay), which
// the least-privilege migration must take back.
describe.each(['fresh', 'legacy'] as const)('write database grants (%s database)', (setup) => {
  let db: ThrowawayDatabase;
  let as: { command: string; relay: string; projector: string; query: string };

  beforeAll(async () => {
    const command = user(infra.postgres.writeUrl);
    const relay = user(infra.postgres.relayUrl);
    const reader = user(infra.postgres.readUrl);
    // The migrations grant to these names; other login roles must be their members.
    expect([command, relay, reader]).toEqual([
      WRITE_DATABASE_ROLES.command,
      WRITE_DATABASE_ROLES.relay,
      WRITE_DATABASE_ROLES.reader,
    ]);
    // As init.sql does for the write database: the projector connects to read the store.
    db = await createThrowawayDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerWriteUrl,
      prefix: 'grants_write',
      appRoles: [command, relay, reader],
    });
    databases.push(db);
    if (setup === 'legacy') {
      await withClient(db.url, async (owner) => {
        await owner.query(
          `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${command}`,
        );
        await owner.query(
          `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${command}`,
        );
        await owner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${relay}`);
        await owner.query(
          `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${reader}`,
        );
      });
    }
    await migrateEventStore(db.url);
    as = {
      command: db.urlAs(infra.postgres.writeUrl),
      relay: db.urlAs(infra.postgres.relayUrl),
      projector: db.urlAs(infra.postgres.readUrl),
      query: db.urlAs(infra.postgres.queryUrl),
    };
  });

  describe('cqrs_command', () => {
    it('appends through the store: events, outbox rows, snapshots, idempotency keys, both append functions', async () => {
      const dataSource = await createEventStoreDataSource({ url: as.command, poolSize: 4 }).initialize();
      try {
        const store = new PostgresEventStore(dataSource, { snapshotEvery: 1 });
        const streamId = `grants-${randomUUID()}`;
        const decide = (key: string) =>
          handleCommand(store, {
            streamId,
            streamType: 'test.counter',
            decider: counterDecider,
            command: { type: 'Add', amount: 2 },
            stateSchemaVersion: 1,
            outbox: { aggregateType: 'test.counter', encode: fakeWireEncoder() },
            idempotency: { scope: 'grants', key, requestHash: hashRequest(key) },
          });
        await decide('k-1');
        await decide('k-2');
        // Concurrent appends share group-commit calls (the batch function).
        const others = Array.from({ length: 6 }, () => `grants-${randomUUID()}`);
        await Promise.all(
          others.map((id) =>
            store.appendToStream(id, [{ type: 'Added', data: { amount: 1 } }], {
              streamType: 'test.counter',
              expectedVersion: 0,
              outbox: { aggregateType: 'test.counter', encode: fakeWireEncoder() },
            }),
          ),
        );
        expect(await store.aggregateStream(streamId, { ...counterDecider, stateSchemaVersion: 1 })).toMatchObject({
          state: { total: 4 },
          version: 2,
          snapshotVersion: 2,
        });
        for (const id of others) expect(await store.readStream(id)).toHaveLength(1);
        expect(await store.purgeExpiredIdempotencyKeys()).toBe(0);
        // Snapshot upkeep runs as this role (the service's scheduled prune, the CLI).
        expect(await store.takeSnapshot(streamId, { ...counterDecider, stateSchemaVersion: 1 })).toMatchObject({
          version: 2,
          written: false,
        });
        expect(await store.pruneSnapshots({ keep: 1 })).toMatchObject({ deleted: 1 });
        expect(await store.snapshotStats()).toMatchObject({ snapshots: 1 });
        expect(await store.size()).toMatchObject({ archivedStreams: 0 });
        // Archiving is the owner's: no DELETE on events.
        await expect(store.archiveStreams({ olderThanMs: 0, terminalEventTypes: ['Added'] })).rejects.toMatchObject({
          code: INSUFFICIENT_PRIVILEGE,
        });
      } finally {
        await dataSource.destroy();
      }
    });

    it.each([
      `SELECT count(*) FROM events`,
      `SELECT count(*) FROM events_archive`,
      `SELECT count(*) FROM archived_streams`,
      `INSERT INTO events (event_id, stream_id, stream_type, version, type, data) VALUES (gen_random_uuid(), 'direct', 't', 1, 'x', '{}')`,
      `INSERT INTO snapshots (stream_id, state_schema_version, version, state) VALUES ('direct', 1, 1, '{}') ON CONFLICT DO NOTHING`,
      `DELETE FROM snapshots WHERE stream_id = 'direct'`,
      OUTBOX_ROW,
      `DELETE FROM outbox WHERE aggregateid = 'a-1'`,
      `INSERT INTO idempotency_keys (scope, key, request_hash, response, stream_id, stream_version, expires_at)
         VALUES ('s', 'k', 'h', '{}', 'direct', 1, now())`,
      `DELETE FROM idempotency_keys WHERE expires_at <= now()`,
    ])('may run: %s', async (sql) => {
      expect(await sqlstate(as.command, sql)).toBeUndefined();
    });

    it.each(COMMAND_FORBIDDEN)('is refused (42501): %s', async (sql) => {
      expect(await sqlstate(as.command, sql)).toBe(INSUFFICIENT_PRIVILEGE);
    });

    it.each([
      `UPDATE events SET data = '{}'`,
      `SET LOCAL cqrs.archiving = 'on'; DELETE FROM events`,
      `DELETE FROM events_archive`,
    ])('is refused by the grants, not only by the append-only trigger: %s', async (sql) => {
      const error = await withClient(as.command, (c) => c.query(sql)).catch((e: Error) => e);
      expect((error as Error).message).toMatch(/^permission denied for table events(_archive)?$/);
    });
  });

  describe('cqrs_relay', () => {
    it('reads the outbox, and decodes its inserts from a slot on the owner’s publication', async () => {
      expect(await sqlstate(as.relay, `SELECT * FROM outbox`)).toBeUndefined();
      const slot = `grants_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      await withClient(as.relay, (c) => c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]));
      expect(await sqlstate(as.command, OUTBOX_ROW)).toBeUndefined();
      const changes = await withClient(as.relay, (c) =>
        c.query(
          `SELECT count(*)::int AS n FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2)`,
          [slot, OUTBOX_PUBLICATION],
        ),
      );
      // BEGIN, RELATION, INSERT, COMMIT at least.
      expect((changes.rows[0] as { n: number }).n).toBeGreaterThanOrEqual(4);
      await withClient(as.relay, (c) => c.query(`SELECT pg_drop_replication_slot($1)`, [slot]));
    });

    it.each(RELAY_FORBIDDEN)('is refused (42501): %s', async (sql) => {
      expect(await sqlstate(as.relay, sql)).toBe(INSUFFICIENT_PRIVILEGE);
    });
  });

  describe('cqrs_projector', () => {
    it('reads events and events_archive', async () => {
      expect(
        await sqlstate(as.projector, `SELECT * FROM events UNION ALL SELECT * FROM events_archive`),
      ).toBeUndefined();
    });

    it.each(READER_FORBIDDEN)('is refused (42501): %s', async (sql) => {
      expect(await sqlstate(as.projector, sql)).toBe(INSUFFICIENT_PRIVILEGE);
    });

    it.each([`SET LOCAL cqrs.archiving = 'on'; DELETE FROM events`, `UPDATE events_archive SET data = '{}'`])(
      'is refused by the grants, not only by the append-only trigger: %s',
      async (sql) => {
        const error = await withClient(as.projector, (c) => c.query(sql)).catch((e: Error) => e);
        expect((error as Error).message).toMatch(/^permission denied for table events(_archive)?$/);
      },
    );
  });

  it('app roles own nothing: tables, views, sequences, functions and the publication are the owner’s', async () => {
    const owned = await withClient(db.url, (c) =>
      c.query(
        `SELECT r.rolname, count(*)::int AS n FROM (
           SELECT relowner AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace
           UNION ALL SELECT proowner FROM pg_proc WHERE pronamespace = 'public'::regnamespace
           UNION ALL SELECT pubowner FROM pg_publication) o
         JOIN pg_roles r ON r.oid = o.owner GROUP BY r.rolname`,
      ),
    );
    expect(owned.rows).toEqual([{ rolname: user(infra.postgres.ownerWriteUrl), n: expect.any(Number) }]);
  });

  it('grants exactly the documented table privileges, and no default privileges', async () => {
    const grants = await withClient(db.url, (c) =>
      c.query<{ grantee: string; table_name: string; privileges: string }>(
        `SELECT grantee, table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) AS privileges
           FROM information_schema.role_table_grants
          WHERE table_schema = 'public' AND grantee <> $1
          GROUP BY grantee, table_name ORDER BY grantee, table_name`,
        [user(infra.postgres.ownerWriteUrl)],
      ),
    );
    expect(grants.rows).toEqual([
      { grantee: WRITE_DATABASE_ROLES.command, table_name: 'archived_streams', privileges: 'SELECT' },
      { grantee: WRITE_DATABASE_ROLES.command, table_name: 'events', privileges: 'INSERT,SELECT' },
      { grantee: WRITE_DATABASE_ROLES.command, table_name: 'events_archive', privileges: 'SELECT' },
      {
        grantee: WRITE_DATABASE_ROLES.command,
        table_name: 'idempotency_keys',
        privileges: 'DELETE,INSERT,SELECT,UPDATE',
      },
      { grantee: WRITE_DATABASE_ROLES.command, table_name: 'outbox', privileges: 'DELETE,INSERT,SELECT' },
      { grantee: WRITE_DATABASE_ROLES.command, table_name: 'snapshots', privileges: 'DELETE,INSERT,SELECT' },
      { grantee: WRITE_DATABASE_ROLES.reader, table_name: 'events', privileges: 'SELECT' },
      { grantee: WRITE_DATABASE_ROLES.reader, table_name: 'events_archive', privileges: 'SELECT' },
      { grantee: WRITE_DATABASE_ROLES.relay, table_name: 'outbox', privileges: 'SELECT' },
    ]);
    const defaults = await withClient(db.url, (c) =>
      c.query(`SELECT defaclacl::text FROM pg_default_acl WHERE defaclacl::text ~ $1`, [
        `(cqrs_command|cqrs_relay|cqrs_projector|^\\{=|,=)`,
      ]),
    );
    expect(defaults.rows).toEqual([]);
  });

  it('cqrs_query may not even connect (42501)', async () => {
    expect(await sqlstate(as.query, 'SELECT 1')).toBe(INSUFFICIENT_PRIVILEGE);
  });
});

// The projector's role connects to it too (to read the store); what it may do there is the grants above.
describe('the stack’s write database (init.sql)', () => {
  it.each(['queryUrl'] as const)('refuses the read side’s role of %s a connection (42501)', async (key) => {
    const url = new URL(infra.postgres[key]);
    url.pathname = new URL(infra.postgres.writeUrl).pathname;
    expect(await sqlstate(url.toString(), 'SELECT 1')).toBe(INSUFFICIENT_PRIVILEGE);
  });
});
