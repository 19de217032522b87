// Snapshot maintenance on a real PostgreSQL: pruning, statistics, "snapshot now".
// Integration tests take their servers from @cqrs/testing; the tag matrix has no spec-file exception yet.
import { getTestInfra } from '@cqrs/testing';
import { replay, upcasterChain } from '@cqrs/util';
import { randomUUID } from 'node:crypto';
import { type CounterEvent, type CounterState, counterDecider, createEventStoreTestDatabase } from '../testing';
import type { NewEvent } from './event-store.types';
import { PostgresEventStore } from './postgres-event-store';

type Db = Awaited<ReturnType<typeof createEventStoreTestDatabase>>;
let db: Db;

beforeAll(async () => {
  const infra = await getTestInfra();
  db = await createEventStoreTestDatabase({
    adminUrl: infra.postgres.adminUrl,
    ownerUrl: infra.postgres.ownerWriteUrl,
    poolSize: 4,
  });
});
afterAll(() => db?.drop());

const DAY_MS = 86_400_000;
const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> =>
  db.dataSource.query(text, params);
const stream = () => `snap-${randomUUID()}`;
const added = (amount: number): NewEvent<CounterEvent> => ({ type: 'Added', data: { amount } });

/** Inserts snapshots of `streamId` as the owner: `[version, ageDays]` each, of one state schema version. */
async function snapshotsOf(
  streamId: string,
  stateSchemaVersion: number,
  snapshots: [version: number, ageDays: number][],
) {
  for (const [version, ageDays] of snapshots) {
    await sql(
      `INSERT INTO snapshots (stream_id, state_schema_version, version, state, created_at)
       VALUES ($1, $2, $3, $4, now() - $5 * interval '1 day')`,
      [
        streamId,
        stateSchemaVersion,
        version,
        JSON.stringify({ total: version, count: version, digest: version }),
        ageDays,
      ],
    );
  }
}
const left = async (streamId: string) =>
  (
    await sql<{ state_schema_version: number; version: string }>(
      'SELECT state_schema_version, version FROM snapshots WHERE stream_id = $1 ORDER BY state_schema_version, version',
      [streamId],
    )
  ).map((r) => `${r.state_schema_version}@${r.version}`);

describe('pruneSnapshots', () => {
  // Each test prunes only its own streams: other tests' snapshots share the table.
  beforeEach(() => sql('DELETE FROM snapshots'));

  it('keeps the newest `keep` per stream and state schema version', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const [a, b] = [stream(), stream()];
    await snapshotsOf(
      a,
      1,
      [1, 2, 3, 4, 5, 6, 7, 8].map((v) => [v * 10, 1]),
    );
    await snapshotsOf(b, 1, [
      [10, 1],
      [20, 1],
    ]);
    const result = await store.pruneSnapshots({ keep: 3 });
    expect(result).toEqual({ streams: 2, snapshots: 10, deleted: 5, beyondKeep: 5, expired: 0, dryRun: false });
    expect(await left(a)).toEqual(['1@60', '1@70', '1@80']);
    expect(await left(b)).toEqual(['1@10', '1@20']);
    // Nothing left to do: converges.
    expect(await store.pruneSnapshots({ keep: 3 })).toMatchObject({ deleted: 0 });
  });

  it('drops snapshots older than maxAge within `keep`, but never the newest of the newest state schema version', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const [fresh, stale] = [stream(), stream()];
    await snapshotsOf(fresh, 1, [
      [10, 120],
      [20, 100],
      [30, 2],
    ]);
    // Every snapshot of this stream is old: the newest stays, it is what loads start from.
    await snapshotsOf(stale, 1, [
      [10, 300],
      [20, 200],
    ]);
    const result = await store.pruneSnapshots({ keep: 5, maxAgeMs: 90 * DAY_MS });
    expect(result).toMatchObject({ deleted: 3, beyondKeep: 0, expired: 3 });
    expect(await left(fresh)).toEqual(['1@30']);
    expect(await left(stale)).toEqual(['1@20']);
  });

  it('treats state schema versions apart: an older version’s snapshots age out entirely, the newest version keeps its newest', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const id = stream();
    await snapshotsOf(id, 1, [
      [10, 200],
      [20, 150],
      [30, 100],
    ]);
    await snapshotsOf(id, 2, [
      [30, 95],
      [40, 94],
      [50, 93],
    ]);
    expect(await store.pruneSnapshots({ keep: 2, maxAgeMs: 90 * DAY_MS })).toMatchObject({
      snapshots: 6,
      deleted: 5,
      beyondKeep: 2,
      expired: 3,
    });
    expect(await left(id)).toEqual(['2@50']);
  });

  it('keeps `keep` per state schema version while both are young (a rolling deploy reads both)', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const id = stream();
    await snapshotsOf(id, 1, [
      [10, 3],
      [20, 2],
      [30, 1],
    ]);
    await snapshotsOf(id, 2, [
      [30, 1],
      [40, 0],
    ]);
    await store.pruneSnapshots({ keep: 2 });
    expect(await left(id)).toEqual(['1@20', '1@30', '2@30', '2@40']);
  });

  it('with dryRun counts the same and deletes nothing', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const id = stream();
    await snapshotsOf(id, 1, [
      [10, 200],
      [20, 1],
      [30, 1],
      [40, 1],
    ]);
    const before = await left(id);
    const dry = await store.pruneSnapshots({ keep: 2, maxAgeMs: 90 * DAY_MS, dryRun: true });
    expect(dry).toEqual({ streams: 1, snapshots: 4, deleted: 2, beyondKeep: 2, expired: 0, dryRun: true });
    expect(await left(id)).toEqual(before);
    expect(await store.pruneSnapshots({ keep: 2, maxAgeMs: 90 * DAY_MS })).toEqual({ ...dry, dryRun: false });
    expect(await left(id)).toEqual(['1@30', '1@40']);
  });

  it('goes through many streams in batches with the same outcome', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const ids = Array.from({ length: 7 }, stream);
    for (const id of ids)
      await snapshotsOf(id, 1, [
        [1, 1],
        [2, 1],
        [3, 1],
      ]);
    expect(await store.pruneSnapshots({ keep: 1, batchSize: 2 })).toMatchObject({
      streams: 7,
      snapshots: 21,
      deleted: 14,
    });
    for (const id of ids) expect(await left(id)).toEqual(['1@3']);
  });

  it.each([{ keep: 0 }, { keep: 1.5 }, { maxAgeMs: -1 }, { batchSize: 0 }])('rejects %j', async (options) => {
    await expect(new PostgresEventStore(db.dataSource).pruneSnapshots(options)).rejects.toThrow(RangeError);
  });
});

describe('snapshotStats', () => {
  beforeEach(() => sql('DELETE FROM snapshots'));

  it('counts snapshots, streams, bytes and ages, in total and per state schema version', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const empty = await store.snapshotStats();
    expect(empty).toMatchObject({
      snapshots: 0,
      streams: 0,
      stateBytes: 0,
      oldestAgeSeconds: null,
      newestAgeSeconds: null,
      byStateSchemaVersion: [],
    });

    const [a, b] = [stream(), stream()];
    await snapshotsOf(a, 1, [
      [10, 3],
      [20, 2],
    ]);
    await snapshotsOf(b, 1, [[10, 1]]);
    await snapshotsOf(b, 2, [[10, 0]]);
    const stats = await store.snapshotStats();
    expect(stats).toMatchObject({ snapshots: 4, streams: 2 });
    expect(stats.stateBytes).toBeGreaterThan(0);
    expect(stats.tableBytes).toBeGreaterThan(stats.stateBytes);
    expect(stats.oldestAgeSeconds).toBeCloseTo(3 * 86_400, -2);
    expect(stats.newestAgeSeconds).toBeLessThan(60);
    expect(stats.byStateSchemaVersion).toEqual([
      expect.objectContaining({ stateSchemaVersion: 1, snapshots: 3, streams: 2 }),
      expect.objectContaining({ stateSchemaVersion: 2, snapshots: 1, streams: 1 }),
    ]);
    expect(stats.byStateSchemaVersion[0].stateBytes + stats.byStateSchemaVersion[1].stateBytes).toBe(stats.stateBytes);
  });
});

describe('takeSnapshot', () => {
  const options = { ...counterDecider, stateSchemaVersion: 1 };

  it('folds the whole stream from its events (not from a snapshot), and the next load starts from it', async () => {
    const store = new PostgresEventStore(db.dataSource, { snapshotEvery: 0 });
    const id = stream();
    await store.appendToStream(id, [added(1), added(2), added(3)], { streamType: 'test.counter', expectedVersion: 0 });
    // A wrong snapshot at version 2 must not be carried forward.
    await snapshotsOf(id, 1, [[2, 0]]);
    const taken = await store.takeSnapshot(id, options);
    expect(taken).toEqual({ streamId: id, version: 3, stateSchemaVersion: 1, written: true });
    const events = await store.readStream<CounterEvent>(id);
    const [row] = await sql<{ state: CounterState }>(
      'SELECT state FROM snapshots WHERE stream_id = $1 AND version = 3',
      [id],
    );
    expect(row.state).toEqual(replay(counterDecider, events));

    const loaded = await store.aggregateStream<CounterState, CounterEvent>(id, options);
    expect(loaded).toEqual({ state: row.state, version: 3, snapshotVersion: 3 });
    // Its state really is what the load used: a tampered snapshot shows through.
    await sql(
      `UPDATE snapshots SET state = '{"total": 99, "count": 0, "digest": 0}' WHERE stream_id = $1 AND version = 3`,
      [id],
    );
    expect((await store.aggregateStream<CounterState, CounterEvent>(id, options)).state.total).toBe(99);
  });

  it('upcasts stored events on the way (the store’s chain)', async () => {
    const upcasters = upcasterChain({ Added: { 1: ({ n }) => ({ amount: n }) } });
    const store = new PostgresEventStore(db.dataSource, { upcasters });
    const id = stream();
    await store.appendToStream(id, [{ type: 'Added', data: { n: 4 } as never, schemaVersion: 1 }], {
      streamType: 'test.counter',
      expectedVersion: 0,
    });
    await store.takeSnapshot(id, options);
    expect((await store.aggregateStream<CounterState, CounterEvent>(id, options)).state).toEqual(
      counterDecider.evolve(counterDecider.initialState(), added(4)),
    );
  });

  it('writes nothing for a stream without events, or when the snapshot exists already', async () => {
    const store = new PostgresEventStore(db.dataSource);
    expect(await store.takeSnapshot(stream(), options)).toMatchObject({ version: 0, written: false });
    const id = stream();
    await store.appendToStream(id, [added(1)], { streamType: 'test.counter', expectedVersion: 0 });
    expect(await store.takeSnapshot(id, options)).toMatchObject({ version: 1, written: true });
    expect(await store.takeSnapshot(id, options)).toMatchObject({ version: 1, written: false });
    expect(await left(id)).toEqual(['1@1']);
  });
});
