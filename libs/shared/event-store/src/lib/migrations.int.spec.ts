// Integration tests take their servers from @cqrs/testing; the tag matrix has no spec-file exception yet.
import { getTestInfra, repoRoot, type TestInfra } from '@cqrs/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  counterDecider,
  createThrowawayDatabase,
  fakeWireEncoder,
  type ThrowawayDatabase,
  withClient,
} from '../testing';
import { createEventStoreDataSource } from './data-source';
import { handleCommand } from './handle-command';
import { hashRequest } from './idempotency';
import { migrateEventStore } from './migrate';
import { PostgresEventStore } from './postgres-event-store';

const exec = promisify(execFile);
let infra: TestInfra;
const databases: ThrowawayDatabase[] = [];
const throwaway = async (appRoles?: string[]) => {
  const db = await createThrowawayDatabase({
    adminUrl: infra.postgres.adminUrl,
    ownerUrl: infra.postgres.ownerWriteUrl,
    appRoles,
  });
  databases.push(db);
  return db;
};

beforeAll(async () => {
  infra = await getTestInfra();
});
afterAll(() => Promise.all(databases.map((db) => db.drop())));

describe('event-store migrations', () => {
  it('create the documented tables, with the outbox Debezium expects and a publication of its inserts', async () => {
    const db = await throwaway();
    expect(await migrateEventStore(db.url)).toEqual([
      'CreateEventStore1764000000000',
      'CreateOutboxPublication1764000000001',
      'CreateAppendFunction1764000000002',
      'CreateAppendBatchFunction1764000000003',
      'GrantLeastPrivilege1764000000004',
      'ArchiveAndSnapshotHistory1764000000005',
    ]);

    await withClient(db.url, async (client) => {
      const columns = async (table: string) =>
        (
          await client.query<{ column_name: string; data_type: string }>(
            `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
            [table],
          )
        ).rows.map((c) => `${c.column_name} ${c.data_type}`);
      expect(await columns('outbox')).toEqual([
        'id uuid',
        'aggregatetype text',
        'aggregateid text',
        'type text',
        'payload bytea',
        'timestamp timestamp with time zone',
        'aggregateversion bigint',
        'traceparent text',
        'tracestate text',
        'correlationid text',
      ]);
      expect(await columns('events')).toEqual([
        'global_position bigint',
        'event_id uuid',
        'stream_id text',
        'stream_type text',
        'version bigint',
        'type text',
        'schema_version integer',
        'data jsonb',
        'metadata jsonb',
        'recorded_at timestamp with time zone',
      ]);
      // The archive has the same columns (its global_position is copied, not an identity).
      expect(await columns('events_archive')).toEqual(await columns('events'));
      const { rows: archiveIdentity } = await client.query(
        `SELECT attidentity FROM pg_attribute WHERE attrelid = 'public.events_archive'::regclass AND attname = 'global_position'`,
      );
      expect(archiveIdentity).toEqual([{ attidentity: '' }]);
      expect(await columns('archived_streams')).toEqual([
        'stream_id text',
        'stream_type text',
        'version bigint',
        'events integer',
        'last_recorded_at timestamp with time zone',
        'archived_at timestamp with time zone',
      ]);
      const keys = async (table: string) =>
        (
          await client.query<{ conname: string; def: string }>(
            `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('p', 'u') ORDER BY conname`,
            [table],
          )
        ).rows.map((c) => `${c.conname} ${c.def}`);
      expect(await keys('events_archive')).toEqual([
        'events_archive_event_id_key UNIQUE (event_id)',
        'events_archive_pkey PRIMARY KEY (global_position)',
        'events_archive_stream_id_version_key UNIQUE (stream_id, version)',
      ]);
      expect(await keys('archived_streams')).toEqual(['archived_streams_pkey PRIMARY KEY (stream_id)']);
      // Snapshots keep history.
      expect(await keys('snapshots')).toEqual([
        'snapshots_pkey PRIMARY KEY (stream_id, state_schema_version, version)',
      ]);

      const { rows: identity } = await client.query(
        `SELECT relreplident FROM pg_class WHERE oid = 'public.outbox'::regclass`,
      );
      expect(identity).toEqual([{ relreplident: 'd' }]);
      const { rows: publication } = await client.query(
        `SELECT p.pubinsert, p.pubupdate, p.pubdelete, t.schemaname, t.tablename FROM pg_publication p
         JOIN pg_publication_tables t USING (pubname) WHERE p.pubname = 'cqrs_outbox'`,
      );
      expect(publication).toEqual([
        { pubinsert: true, pubupdate: false, pubdelete: false, schemaname: 'public', tablename: 'outbox' },
      ]);
    });
  });

  it('are idempotent, and concurrent runs apply each migration exactly once', async () => {
    const db = await throwaway();
    const runs = await Promise.all([migrateEventStore(db.url), migrateEventStore(db.url), migrateEventStore(db.url)]);
    expect(runs.flat().sort()).toEqual([
      'ArchiveAndSnapshotHistory1764000000005',
      'CreateAppendBatchFunction1764000000003',
      'CreateAppendFunction1764000000002',
      'CreateEventStore1764000000000',
      'CreateOutboxPublication1764000000001',
      'GrantLeastPrivilege1764000000004',
    ]);
    expect(await migrateEventStore(db.url)).toEqual([]);
  });

  it('can be reverted and re-applied', async () => {
    const db = await throwaway();
    await migrateEventStore(db.url);
    const dataSource = await createEventStoreDataSource({ url: db.url, poolSize: 2 }).initialize();
    try {
      for (let i = 0; i < 6; i++) await dataSource.undoLastMigration();
      const tables = await dataSource.query(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'event_store_migrations'`,
      );
      expect(tables).toEqual([]);
      const functions = await dataSource.query(
        `SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace`,
      );
      expect(functions).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
    expect(await migrateEventStore(db.url)).toHaveLength(6);
  });

  it('revert the archive without losing events, and snapshots to the newest per state schema version', async () => {
    const db = await throwaway(['cqrs_command']);
    await migrateEventStore(db.url);
    const dataSource = await createEventStoreDataSource({ url: db.url, poolSize: 2 }).initialize();
    try {
      const store = new PostgresEventStore(dataSource, { snapshotEvery: 1 });
      const snapshot = (lastSnapshotVersion: number) => ({
        stateSchemaVersion: 1,
        lastSnapshotVersion,
        state: () => ({ total: lastSnapshotVersion }),
      });
      await store.appendToStream('done', [{ type: 'Added', data: { amount: 1 } }], {
        streamType: 't',
        expectedVersion: 0,
        snapshot: snapshot(0),
      });
      await store.appendToStream('done', [{ type: 'Reset', data: {} }], {
        streamType: 't',
        expectedVersion: 1,
        snapshot: snapshot(1),
      });
      await store.appendToStream('hot', [{ type: 'Added', data: { amount: 2 } }], {
        streamType: 't',
        expectedVersion: 0,
      });
      expect(await store.archiveStreams({ olderThanMs: 0, terminalEventTypes: ['Reset'] })).toMatchObject({
        streams: 1,
        events: 2,
      });
      const before = await dataSource.query(
        `SELECT * FROM events UNION ALL SELECT * FROM events_archive ORDER BY global_position`,
      );

      await dataSource.undoLastMigration();
      expect(await dataSource.query(`SELECT * FROM events ORDER BY global_position`)).toEqual(before);
      expect(await dataSource.query(`SELECT stream_id, version FROM snapshots`)).toEqual([
        { stream_id: 'done', version: '2' },
      ]);
      // The earlier append function works again, for the command role too (its grant is back).
      const command = await createEventStoreDataSource({
        url: db.urlAs(infra.postgres.writeUrl),
        poolSize: 1,
      }).initialize();
      try {
        const appended = await new PostgresEventStore(command, { snapshotEvery: 1 }).appendToStream(
          'done',
          [{ type: 'Added', data: { amount: 3 } }],
          {
            streamType: 't',
            expectedVersion: 2,
            snapshot: snapshot(2),
          },
        );
        expect(appended).toMatchObject({ nextExpectedVersion: 3, snapshotWritten: true });
      } finally {
        await command.destroy();
      }
      expect(await dataSource.query(`SELECT stream_id, version FROM snapshots`)).toEqual([
        { stream_id: 'done', version: '3' },
      ]);
    } finally {
      await dataSource.destroy();
    }
    expect(await migrateEventStore(db.url)).toEqual(['ArchiveAndSnapshotHistory1764000000005']);
  });

  it('keep events append-only, even for a role with UPDATE and DELETE privileges', async () => {
    const db = await throwaway();
    await migrateEventStore(db.url);
    const dataSource = await createEventStoreDataSource({ url: db.url, poolSize: 2 }).initialize();
    try {
      const store = new PostgresEventStore(dataSource);
      await store.appendToStream('s-1', [{ type: 'Added', data: { amount: 1 } }], {
        streamType: 't',
        expectedVersion: 0,
      });
      await withClient(db.url, async (client) => {
        await expect(client.query(`UPDATE events SET data = '{}'`)).rejects.toThrow(
          'events are append-only: UPDATE is not allowed',
        );
        await expect(client.query(`DELETE FROM events`)).rejects.toThrow(
          'events are append-only: DELETE is not allowed',
        );
      });
      expect(await store.readStream('s-1')).toHaveLength(1);
    } finally {
      await dataSource.destroy();
    }
  });
});

describe('npm run db:migrate (CLI)', () => {
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    exec(
      process.execPath,
      ['-r', '@swc-node/register', join('libs/shared/event-store/src/cli/migrate.cli.ts'), ...args],
      {
        cwd: repoRoot(),
        env: { ...process.env, ...env },
        timeout: 60_000,
      },
    );

  it('migrates the database named by MIGRATIONS_WRITE_DATABASE_URL, then reports it up to date', async () => {
    const db = await throwaway();
    const first = await cli([], { MIGRATIONS_WRITE_DATABASE_URL: db.url });
    expect(first.stdout).toContain('applied CreateEventStore1764000000000');
    const second = await cli([], { MIGRATIONS_WRITE_DATABASE_URL: db.url });
    expect(second.stdout).toMatch(/event store schema is up to date \(postgres:\/\/cqrs_owner:\*\*\*@/);
  });

  it('exits non-zero with a readable reason, and no password, when the database is unreachable', async () => {
    const port = await closedPort();
    const error = await cli(['--url', `postgres://cqrs_owner:s3cret@127.0.0.1:${port}/cqrs_write`]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(error?.code).toBe(1);
    expect(error?.stderr).toContain(
      `db:migrate failed: cannot reach PostgreSQL at postgres://cqrs_owner:***@127.0.0.1:${port}/cqrs_write: connection refused`,
    );
    expect(error?.stderr).not.toContain('s3cret');
  });

  it('explains rejected credentials', async () => {
    const url = new URL(infra.postgres.ownerWriteUrl);
    url.password = 'wrong-password';
    const error = await cli(['--url', url.toString()]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(error?.code).toBe(1);
    expect(error?.stderr).toContain('PostgreSQL rejected the credentials for');
    expect(error?.stderr).not.toContain('wrong-password');
  });
});

describe('app roles', () => {
  const appendAndLoad = async (url: string) => {
    const dataSource = await createEventStoreDataSource({ url, poolSize: 2 }).initialize();
    try {
      const store = new PostgresEventStore(dataSource, { snapshotEvery: 1 });
      const streamId = `roles-test-${randomUUID()}`;
      const result = await handleCommand(store, {
        streamId,
        streamType: 'test.counter',
        decider: counterDecider,
        command: { type: 'Add', amount: 3 },
        stateSchemaVersion: 1,
        idempotency: { scope: 'roles-test', key: randomUUID(), requestHash: hashRequest(3) },
      });
      return { result, loaded: await store.aggregateStream(streamId, { ...counterDecider, stateSchemaVersion: 1 }) };
    } finally {
      await dataSource.destroy();
    }
  };

  it('let the command role append (events, outbox, snapshot, idempotency) after the owner migrated', async () => {
    const db = await throwaway(['cqrs_command']);
    await migrateEventStore(db.url);
    const commandUrl = db.urlAs(infra.postgres.writeUrl);
    expect(new URL(commandUrl).username).toBe('cqrs_command');

    const dataSource = await createEventStoreDataSource({ url: commandUrl, poolSize: 2 }).initialize();
    try {
      const store = new PostgresEventStore(dataSource, { snapshotEvery: 1 });
      await handleCommand(store, {
        streamId: 'c-1',
        streamType: 'test.counter',
        decider: counterDecider,
        command: { type: 'Add', amount: 3 },
        stateSchemaVersion: 1,
        outbox: { aggregateType: 'test.counter', encode: fakeWireEncoder() },
        idempotency: { scope: 'roles-test', key: 'k-1', requestHash: hashRequest(3) },
      });
      expect(await store.aggregateStream('c-1', { ...counterDecider, stateSchemaVersion: 1 })).toMatchObject({
        state: { total: 3 },
        version: 1,
        snapshotVersion: 1,
      });
      await expect(dataSource.query('CREATE TABLE sneaky (id int)')).rejects.toThrow(/permission denied/);
    } finally {
      await dataSource.destroy();
    }
  });

  it('work on the real write database: migrated by the owner, appended to by cqrs_command', async () => {
    // Idempotent and lock-serialised, so running it here is harmless to anyone sharing the database.
    await migrateEventStore(infra.postgres.ownerWriteUrl);
    const { result, loaded } = await appendAndLoad(infra.postgres.writeUrl);
    expect(new URL(infra.postgres.writeUrl).username).toBe('cqrs_command');
    expect(result).toMatchObject({ replayed: false, version: 1 });
    expect(loaded).toMatchObject({ state: { total: 3 }, version: 1, snapshotVersion: 1 });
  });
});

/** A port nothing listens on: bind an ephemeral one, then free it. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
