// Archiving on a real PostgreSQL: cold streams move to events_archive, loads and the append guard
// still see them whole. Integration tests take their servers from @cqrs/testing; the tag matrix has
// no spec-file exception yet.
import { getTestInfra } from '@cqrs/testing';
import { replay } from '@cqrs/util';
import { randomUUID } from 'node:crypto';
import {
  type CounterEvent,
  type CounterState,
  counterDecider,
  createEventStoreTestDatabase,
  withClient,
} from '../testing';
import { ConcurrencyError } from './event-store.errors';
import type { NewEvent } from './event-store.types';
import { PostgresEventStore } from './postgres-event-store';

type Db = Awaited<ReturnType<typeof createEventStoreTestDatabase>>;
let db: Db;

beforeAll(async () => {
  const infra = await getTestInfra();
  db = await createEventStoreTestDatabase({
    adminUrl: infra.postgres.adminUrl,
    ownerUrl: infra.postgres.ownerWriteUrl,
    poolSize: 6,
  });
});
afterAll(() => db?.drop());

const DAY_MS = 86_400_000;
const TYPE = 'test.counter';
// `Reset` ends a counter's life, for these tests.
const archiveOptions = (extra: Partial<Parameters<PostgresEventStore['archiveStreams']>[0]> = {}) => ({
  olderThanMs: 30 * DAY_MS,
  terminalEventTypes: ['Reset'],
  streamType: TYPE,
  ...extra,
});
const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> =>
  db.dataSource.query(text, params);
const stream = () => `arch-${randomUUID()}`;
const added = (amount: number): NewEvent<CounterEvent> => ({ type: 'Added', data: { amount } });

/**
 * Writes a stream as it would have been written `ageDays` ago: the owner inserts the rows with an
 * old `recorded_at` (appends stamp now()). Types are `A`dded (amount = version) or `R`eset.
 */
async function oldStream(id: string, types: string, ageDays: number, streamType = TYPE, fromVersion = 1) {
  for (const [i, t] of [...types].entries()) {
    await sql(
      `INSERT INTO events (event_id, stream_id, stream_type, version, type, data, recorded_at)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, now() - $6 * interval '1 day')`,
      [
        id,
        streamType,
        fromVersion + i,
        t === 'R' ? 'Reset' : 'Added',
        JSON.stringify(t === 'R' ? {} : { amount: fromVersion + i }),
        ageDays,
      ],
    );
  }
}
const where = async (id: string) => ({
  hot: (await sql<{ version: string }>('SELECT version FROM events WHERE stream_id = $1 ORDER BY version', [id])).map(
    (r) => Number(r.version),
  ),
  archive: (
    await sql<{ version: string }>('SELECT version FROM events_archive WHERE stream_id = $1 ORDER BY version', [id])
  ).map((r) => Number(r.version)),
});
const archivedRow = async (id: string) =>
  (await sql('SELECT stream_type, version, events FROM archived_streams WHERE stream_id = $1', [id]))[0];

describe('archiveStreams', () => {
  // The tests share a database and run in order: each archives what it wrote, having left nothing
  // archivable behind (or uses a stream type of its own).

  it('moves streams whose last event is terminal and old, whole; leaves the rest; dryRun only counts', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const done = stream();
    const notTerminal = stream();
    const recent = stream();
    const resetThenAdded = stream();
    const otherType = stream();
    await oldStream(done, 'AAAR', 40);
    await oldStream(notTerminal, 'AA', 40);
    await oldStream(recent, 'AR', 10);
    await oldStream(resetThenAdded, 'ARA', 40);
    await oldStream(otherType, 'AR', 40, 'test.other');
    const before = await Promise.all([done, notTerminal, recent, resetThenAdded, otherType].map(where));

    const dry = await store.archiveStreams(archiveOptions({ dryRun: true }));
    expect(dry).toMatchObject({ dryRun: true, streams: 1, events: 4 });
    expect(await Promise.all([done, notTerminal, recent, resetThenAdded, otherType].map(where))).toEqual(before);

    expect(await store.archiveStreams(archiveOptions())).toEqual({ ...dry, dryRun: false });
    expect(await where(done)).toEqual({ hot: [], archive: [1, 2, 3, 4] });
    expect(await archivedRow(done)).toEqual({ stream_type: TYPE, version: '4', events: 4 });
    for (const id of [notTerminal, recent, resetThenAdded, otherType]) expect((await where(id)).archive).toEqual([]);
    // Original positions and ids are kept.
    const [moved] = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM events_archive WHERE stream_id = $1 AND global_position > 0 AND event_id IS NOT NULL`,
      [done],
    );
    expect(moved.n).toBe(4);
    // Without a stream type, the other type's finished stream goes too; nothing is archived twice.
    expect(await store.archiveStreams(archiveOptions({ streamType: undefined }))).toMatchObject({
      streams: 1,
      events: 2,
    });
    expect(await where(otherType)).toEqual({ hot: [], archive: [1, 2] });
    expect(await store.archiveStreams(archiveOptions({ streamType: undefined }))).toMatchObject({
      streams: 0,
      events: 0,
      batches: 0,
    });
  });

  it('loads, reads and versions an archived stream whole', async () => {
    const store = new PostgresEventStore(db.dataSource, { snapshotEvery: 0 });
    const id = stream();
    await oldStream(id, 'AAAR', 40);
    const hot = await store.readStream<CounterEvent>(id);
    const loadedHot = await store.aggregateStream<CounterState, CounterEvent>(id, counterDecider);
    await store.archiveStreams(archiveOptions());
    expect((await where(id)).hot).toEqual([]);

    expect(await store.readStream<CounterEvent>(id)).toEqual(hot);
    expect(await store.aggregateStream<CounterState, CounterEvent>(id, counterDecider)).toEqual(loadedHot);
    expect(await store.streamVersion(id)).toBe(4);
  });

  it.each([0, 4])(
    'refuses a stale append to an archived stream; a current one continues at version + 1, and the stream loads whole (appendsInFlight: %i)',
    async (appendsInFlight) => {
      const store = new PostgresEventStore(db.dataSource, { appendsInFlight });
      const id = stream();
      await oldStream(id, 'AAAR', 40);
      await store.archiveStreams(archiveOptions());

      for (const stale of [0, 3]) {
        const error = await store
          .appendToStream(id, [added(9)], { streamType: TYPE, expectedVersion: stale })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConcurrencyError);
        expect(error).toMatchObject({ expectedVersion: stale, actualVersion: 4 });
      }
      // Ahead of the archived version would leave a gap.
      await expect(
        store.appendToStream(id, [added(9)], { streamType: TYPE, expectedVersion: 5 }),
      ).rejects.toBeInstanceOf(ConcurrencyError);

      const result = await store.appendToStream(id, [added(100)], { streamType: TYPE, expectedVersion: 4 });
      expect(result.nextExpectedVersion).toBe(5);
      expect(await where(id)).toEqual({ hot: [5], archive: [1, 2, 3, 4] });
      const events = await store.readStream<CounterEvent>(id);
      expect(events.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
      const loaded = await store.aggregateStream<CounterState, CounterEvent>(id, counterDecider);
      expect(loaded).toEqual({ state: replay(counterDecider, events), version: 5, snapshotVersion: 0 });
      expect(loaded.state.count).toBe(5);
    },
  );

  it('archives a stream again after it continued (merging), and loads it from a snapshot across both tables', async () => {
    const store = new PostgresEventStore(db.dataSource, { snapshotEvery: 0 });
    const id = stream();
    await oldStream(id, 'AAR', 60);
    await store.archiveStreams(archiveOptions());
    // It continued after archiving, and finished again long ago.
    await oldStream(id, 'AR', 40, TYPE, 4);
    expect(await where(id)).toEqual({ hot: [4, 5], archive: [1, 2, 3] });
    // A snapshot in the middle of the archived part: the load reads the archive's tail and the hot events.
    const options = { ...counterDecider, stateSchemaVersion: 1 };
    const atTwo = replay(counterDecider, (await store.readStream<CounterEvent>(id)).slice(0, 2));
    await sql(`INSERT INTO snapshots (stream_id, state_schema_version, version, state) VALUES ($1, 1, 2, $2)`, [
      id,
      JSON.stringify(atTwo),
    ]);
    const whole = replay(counterDecider, await store.readStream<CounterEvent>(id));
    expect(await store.aggregateStream(id, options)).toEqual({ state: whole, version: 5, snapshotVersion: 2 });

    expect(await store.archiveStreams(archiveOptions())).toMatchObject({ streams: 1, events: 2 });
    expect(await where(id)).toEqual({ hot: [], archive: [1, 2, 3, 4, 5] });
    expect(await archivedRow(id)).toEqual({ stream_type: TYPE, version: '5', events: 5 });
    expect(await store.aggregateStream(id, options)).toEqual({ state: whole, version: 5, snapshotVersion: 2 });
    expect(await store.streamVersion(id)).toBe(5);
  });

  it('stays consistent when an append races the archiving of its stream', async () => {
    const store = new PostgresEventStore(db.dataSource, { appendsInFlight: 0 });
    const id = `race-${randomUUID()}`;
    await oldStream(id, 'AAR', 40);
    // Holds the archiving transaction open after it moved the events, before it commits.
    await sql(`CREATE OR REPLACE FUNCTION stall_archive() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN IF NEW.stream_id LIKE 'race-%' THEN PERFORM pg_sleep(1.5); END IF; RETURN NEW; END $$`);
    await sql(
      `CREATE TRIGGER stall_archive BEFORE INSERT ON archived_streams FOR EACH ROW EXECUTE FUNCTION stall_archive()`,
    );
    try {
      const archiving = store.archiveStreams(archiveOptions({ streamType: undefined }));
      await waitFor(
        async () =>
          (
            await withClient(db.url, (c) =>
              c.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()`),
            )
          ).rowCount === 1,
      );
      // The archiving has not committed: appends see the stream in `events`, at version 3.
      await expect(
        store.appendToStream(id, [added(1)], { streamType: TYPE, expectedVersion: 2 }),
      ).rejects.toBeInstanceOf(ConcurrencyError);
      await expect(
        store.appendToStream(id, [added(4)], { streamType: TYPE, expectedVersion: 3 }),
      ).resolves.toMatchObject({ nextExpectedVersion: 4 });
      expect(await archiving).toMatchObject({ streams: 1, events: 3 });
    } finally {
      await sql('DROP TRIGGER stall_archive ON archived_streams');
    }
    // The append committed first and was not moved: it continues the archived versions.
    expect(await where(id)).toEqual({ hot: [4], archive: [1, 2, 3] });
    expect(await archivedRow(id)).toMatchObject({ version: '3', events: 3 });
    expect((await store.readStream(id)).map((e) => e.version)).toEqual([1, 2, 3, 4]);
    expect(await store.streamVersion(id)).toBe(4);
    await expect(store.appendToStream(id, [added(5)], { streamType: TYPE, expectedVersion: 3 })).rejects.toBeInstanceOf(
      ConcurrencyError,
    );
  });

  it('moves streams in batches, one transaction each', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const type = `test.batch-${randomUUID()}`;
    const ids = Array.from({ length: 5 }, stream);
    for (const id of ids) await oldStream(id, 'AR', 40, type);
    expect(await store.archiveStreams(archiveOptions({ streamType: type, batchSize: 2 }))).toEqual({
      streams: 5,
      events: 10,
      batches: 3,
      dryRun: false,
    });
    const stamps = await sql<{ n: number }>(
      `SELECT count(DISTINCT archived_at)::int AS n FROM archived_streams WHERE stream_id = ANY ($1)`,
      [ids],
    );
    expect(stamps[0].n).toBe(3);
  });

  it.each([{ olderThanMs: -1 }, { terminalEventTypes: [] }, { batchSize: 0 }])('rejects %j', async (options) => {
    await expect(new PostgresEventStore(db.dataSource).archiveStreams(archiveOptions(options))).rejects.toThrow(
      RangeError,
    );
  });

  it('reports the sizes of the event tables', async () => {
    const size = await new PostgresEventStore(db.dataSource).size();
    expect(size.events.bytes).toBeGreaterThan(0);
    expect(size.eventsArchive.bytes).toBeGreaterThan(0);
    expect(size.snapshots.bytes).toBeGreaterThan(0);
    expect(size.archivedStreams).toBeGreaterThan(0);
  });
});

describe('the append-only trigger', () => {
  it('lets the owner DELETE events only in a transaction that set cqrs.archiving; UPDATE never, on either table', async () => {
    const id = stream();
    await oldStream(id, 'A', 1);
    await withClient(db.url, async (owner) => {
      await expect(owner.query(`DELETE FROM events WHERE stream_id = $1`, [id])).rejects.toThrow(
        'events are append-only: DELETE is not allowed',
      );
      await owner.query('BEGIN');
      await owner.query(`SET LOCAL cqrs.archiving = 'on'`);
      await expect(owner.query(`UPDATE events SET data = '{}' WHERE stream_id = $1`, [id])).rejects.toThrow(
        'events are append-only: UPDATE is not allowed',
      );
      await owner.query('ROLLBACK');
      await expect(owner.query(`UPDATE events_archive SET data = '{}'`)).rejects.toThrow(
        'events_archive are append-only: UPDATE is not allowed',
      );
      await expect(owner.query(`DELETE FROM events_archive`)).rejects.toThrow(
        'events_archive are append-only: DELETE is not allowed',
      );
      await owner.query('BEGIN');
      await owner.query(`SET LOCAL cqrs.archiving = 'on'`);
      expect((await owner.query(`DELETE FROM events WHERE stream_id = $1`, [id])).rowCount).toBe(1);
      await owner.query('ROLLBACK');
      // SET LOCAL ends with its transaction.
      await expect(owner.query(`DELETE FROM events WHERE stream_id = $1`, [id])).rejects.toThrow(
        'events are append-only',
      );
    });
    expect((await where(id)).hot).toEqual([1]);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
