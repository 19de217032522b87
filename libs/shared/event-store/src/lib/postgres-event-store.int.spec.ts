import { metricsRegistry } from '@cqrs/observability';
import { replay, upcasterChain, UpcastError } from '@cqrs/util';
// Integration tests take their servers from @cqrs/testing; the tag matrix has no spec-file exception yet.
import { getTestInfra } from '@cqrs/testing';
import { randomUUID } from 'node:crypto';
import {
  type CounterEvent,
  type CounterState,
  counterDecider,
  createEventStoreTestDatabase,
  fakeWireEncoder,
  withClient,
} from '../testing';
import { createEventStoreDataSource } from './data-source';
import { ConcurrencyError, EventStoreUnavailableError } from './event-store.errors';
import type { AppendOptions, NewEvent, OutboxEncodeInput } from './event-store.types';
import { AppendFailedError, PostgresEventStore } from './postgres-event-store';

type Db = Awaited<ReturnType<typeof createEventStoreTestDatabase>>;
let db: Db;
let adminUrl: string;

beforeAll(async () => {
  const infra = await getTestInfra();
  adminUrl = infra.postgres.adminUrl;
  db = await createEventStoreTestDatabase({ adminUrl, ownerUrl: infra.postgres.ownerWriteUrl, poolSize: 20 });
});
afterAll(() => db?.drop());

const added = (amount: number): NewEvent<CounterEvent> => ({ type: 'Added', data: { amount } });
const stream = () => `counter-${randomUUID()}`;
const base = (
  expectedVersion: number,
  extra: Partial<AppendOptions<CounterEvent>> = {},
): AppendOptions<CounterEvent> => ({
  streamType: 'test.counter',
  expectedVersion,
  ...extra,
});
const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> =>
  db.dataSource.query(text, params);

describe('PostgresEventStore: appending and reading', () => {
  it('stores events at consecutive versions with their metadata, and reads them back in order', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const id = stream();
    const metadata = {
      correlationId: 'corr-1',
      causationId: 'cmd-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    };
    const first = await store.appendToStream(id, [added(1), added(2)], base(0, { metadata }));
    const second = await store.appendToStream(id, [added(3)], base(2));

    expect(first.nextExpectedVersion).toBe(2);
    expect(second.nextExpectedVersion).toBe(3);
    const events = await store.readStream<CounterEvent>(id);
    expect(events.map((e) => [e.version, e.type, e.data])).toEqual([
      [1, 'Added', { amount: 1 }],
      [2, 'Added', { amount: 2 }],
      [3, 'Added', { amount: 3 }],
    ]);
    expect(events[0]).toMatchObject({ streamId: id, streamType: 'test.counter', schemaVersion: 1, metadata });
    expect(events.map((e) => e.globalPosition)).toEqual([...first.globalPositions, ...second.globalPositions]);
    expect(events[1].globalPosition).toBeGreaterThan(events[0].globalPosition);
    expect(events.map((e) => e.eventId)).toEqual([...first.eventIds, ...second.eventIds]);
    expect(events[2].recordedAt).toBeInstanceOf(Date);
    expect(await store.readStream(id, { afterVersion: 2 })).toHaveLength(1);
    expect(await store.streamVersion(id)).toBe(3);
  });

  it('behaves the same without prepared statements (for poolers that cannot keep them)', async () => {
    const store = new PostgresEventStore(db.dataSource, { preparedStatements: false, snapshotEvery: 2 });
    const id = stream();
    const idempotency = { scope: 'plain', key: id, requestHash: 'h', response: () => ({ ok: true }) };
    await store.appendToStream(
      id,
      [added(1), added(2)],
      base(0, {
        outbox: { aggregateType: 'test.counter', encode: fakeWireEncoder() },
        snapshot: { stateSchemaVersion: 1, lastSnapshotVersion: 0, state: () => ({ total: 3, count: 2, digest: 1 }) },
        idempotency,
      }),
    );
    await expect(store.appendToStream(id, [added(3)], base(1))).rejects.toBeInstanceOf(ConcurrencyError);
    expect(await store.aggregateStream(id, { ...counterDecider, stateSchemaVersion: 1 })).toEqual({
      state: { total: 3, count: 2, digest: 1 },
      version: 2,
      snapshotVersion: 2,
    });
    expect(await store.findIdempotentResponse(idempotency)).toEqual({
      response: { ok: true },
      streamId: id,
      streamVersion: 2,
    });
  });

  it('keeps caller-chosen event ids and schema versions', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const id = stream();
    const eventId = randomUUID();
    await store.appendToStream(id, [{ ...added(1), eventId, schemaVersion: 2 }], base(0));
    expect(await store.readStream(id)).toEqual([expect.objectContaining({ eventId, schemaVersion: 2 })]);
  });

  it.each([
    ['behind the stream', 1, 2],
    ['ahead of the stream (which would leave a gap)', 5, 2],
    ['claiming a new stream that exists', 0, 2],
  ])('rejects an append whose expected version is %s, appending nothing', async (_, expected, actual) => {
    const store = new PostgresEventStore(db.dataSource);
    const id = stream();
    await store.appendToStream(id, [added(1), added(1)], base(0));
    const error = await store.appendToStream(id, [added(9)], base(expected)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toMatchObject({
      code: 'CONCURRENCY_CONFLICT',
      kind: 'conflict',
      expectedVersion: expected,
      actualVersion: actual,
    });
    expect(await store.streamVersion(id)).toBe(2);
  });

  it('lets 50 concurrent writers race on one stream: each lands at the next version or conflicts, no gaps, no duplicates', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const id = stream();
    const writers = 50;
    let conflicts = 0;
    const landed: { writer: number; version: number }[] = [];
    // Each writer reads the version, appends on top of it, and starts over after a conflict.
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (;;) {
          const version = await store.streamVersion(id);
          try {
            const result = await store.appendToStream(id, [{ type: 'Added', data: { amount: writer } }], base(version));
            expect(result.nextExpectedVersion).toBe(version + 1);
            landed.push({ writer, version: result.nextExpectedVersion });
            return;
          } catch (error) {
            expect(error).toBeInstanceOf(ConcurrencyError);
            expect((error as ConcurrencyError).actualVersion).toBeGreaterThan(version);
            conflicts += 1;
          }
        }
      }),
    );
    const events = await store.readStream<CounterEvent>(id);
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: writers }, (_, i) => i + 1));
    expect(new Set(events.map((e) => (e.type === 'Added' ? e.data.amount : -1))).size).toBe(writers);
    expect(landed.map((l) => l.version).sort((a, b) => a - b)).toEqual(events.map((e) => e.version));
    expect(conflicts).toBeGreaterThan(0); // the race really happened
  });
});

describe('PostgresEventStore: outbox', () => {
  const outbox = { aggregateType: 'test.counter', encode: fakeWireEncoder(42) };

  it('writes one outbox row per event with the Debezium columns, payload bytes and trace context', async () => {
    const store = new PostgresEventStore(db.dataSource, { deleteOutboxRows: false });
    const id = stream();
    const metadata = {
      correlationId: 'corr-7',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'vendor=1',
    };
    const seen: OutboxEncodeInput[] = [];
    const encode = (input: OutboxEncodeInput) => (seen.push(input), outbox.encode(input));
    const result = await store.appendToStream(
      id,
      [added(5), { type: 'Reset', data: {} }],
      base(0, {
        metadata,
        outbox: { aggregateType: 'test.counter', aggregateId: 'agg-1', encode },
      }),
    );
    // The encoder gets what an Avro envelope needs: ids, version, correlation and causation.
    expect(seen).toEqual([
      {
        event: added(5),
        eventId: result.eventIds[0],
        schemaVersion: 1,
        aggregateType: 'test.counter',
        aggregateId: 'agg-1',
        version: 1,
        metadata,
      },
      expect.objectContaining({ eventId: result.eventIds[1], version: 2 }),
    ]);
    const rows = await sql<Record<string, unknown>>(
      'SELECT * FROM outbox WHERE id = ANY($1::uuid[]) ORDER BY aggregateversion',
      [result.eventIds],
    );
    const events = await store.readStream(id);
    expect(rows).toEqual([
      {
        id: result.eventIds[0],
        aggregatetype: 'test.counter',
        aggregateid: 'agg-1',
        type: 'Added',
        payload: fakeWireEncoder(42)({ event: { type: 'Added', data: { amount: 5 } } } as never),
        timestamp: events[0].recordedAt,
        aggregateversion: '1',
        traceparent: metadata.traceparent,
        tracestate: 'vendor=1',
        correlationid: 'corr-7',
      },
      expect.objectContaining({ id: result.eventIds[1], type: 'Reset', aggregateversion: '2' }),
    ]);
    // Confluent framing: magic byte 0, then the 4-byte schema id.
    expect((rows[0].payload as Buffer).subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 0, 42]));
  });

  it('by default deletes the rows in the same transaction, and the WAL still carries the inserts in version order', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const id = stream();
    const slot = `es_test_${randomUUID().replace(/-/g, '')}`;
    // A temporary logical slot (test_decoding) on the admin connection shows what CDC would see.
    const admin = db.urlAs(adminUrl);
    await withClient(admin, async (client) => {
      await client.query(`SELECT pg_create_logical_replication_slot($1, 'test_decoding', true)`, [slot]);
      const result = await store.appendToStream(id, [added(1), added(2), added(3)], base(0, { outbox }));
      const changes = await client.query<{ data: string }>(
        `SELECT data FROM pg_logical_slot_get_changes($1, NULL, NULL)`,
        [slot],
      );
      const outboxChanges = changes.rows.map((r) => r.data).filter((d) => d.startsWith('table public.outbox'));
      expect(
        outboxChanges
          .filter((d) => d.includes(': INSERT:'))
          .map((d) => /aggregateversion\[bigint\]:(\d+)/.exec(d)?.[1]),
      ).toEqual(['1', '2', '3']);
      expect(outboxChanges.filter((d) => d.includes(': DELETE:'))).toHaveLength(3);
      expect(outboxChanges[0]).toContain(`id[uuid]:'${result.eventIds[0]}'`);
    });
    expect(await sql('SELECT 1 FROM outbox WHERE aggregateid = $1', [id])).toEqual([]);
    expect(await store.streamVersion(id)).toBe(3);
  });

  it('appends nothing when the encoder fails', async () => {
    const store = new PostgresEventStore(db.dataSource, { deleteOutboxRows: false });
    const id = stream();
    const failing = { aggregateType: 'test.counter', encode: () => Promise.reject(new Error('schema not registered')) };
    await expect(store.appendToStream(id, [added(1)], base(0, { outbox: failing }))).rejects.toThrow(
      'schema not registered',
    );
    expect(await store.streamVersion(id)).toBe(0);
    expect(await sql('SELECT 1 FROM outbox WHERE aggregateid = $1', [id])).toEqual([]);
  });
});

describe('PostgresEventStore: events and outbox commit or roll back together', () => {
  const outbox = { aggregateType: 'test.counter', encode: fakeWireEncoder() };
  const counts = async (id: string) => ({
    events: (await sql('SELECT 1 FROM events WHERE stream_id = $1', [id])).length,
    outbox: (await sql('SELECT 1 FROM outbox WHERE aggregateid = $1', [id])).length,
  });

  it('control: a successful append leaves both an event and an outbox row (rows kept)', async () => {
    const store = new PostgresEventStore(db.dataSource, { deleteOutboxRows: false });
    const id = stream();
    await store.appendToStream(id, [added(1)], base(0, { outbox }));
    expect(await counts(id)).toEqual({ events: 1, outbox: 1 });
  });

  it('rolls both back when a later statement of the transaction fails', async () => {
    const store = new PostgresEventStore(db.dataSource, { deleteOutboxRows: false, snapshotEvery: 1 });
    const id = stream();
    await sql(`CREATE OR REPLACE FUNCTION fail_snapshot() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN IF NEW.stream_id LIKE 'doomed-%' THEN RAISE EXCEPTION 'disk full (simulated)'; END IF; RETURN NEW; END $$`);
    await sql(`CREATE TRIGGER fail_snapshot BEFORE INSERT ON snapshots FOR EACH ROW EXECUTE FUNCTION fail_snapshot()`);
    try {
      const doomed = `doomed-${id}`;
      const snapshot = { stateSchemaVersion: 1, lastSnapshotVersion: 0, state: () => ({}) };
      await expect(
        store.appendToStream(doomed, [added(1)], base(0, { outbox: { ...outbox, aggregateId: doomed }, snapshot })),
      ).rejects.toThrow('disk full (simulated)');
      expect(await counts(doomed)).toEqual({ events: 0, outbox: 0 });
    } finally {
      await sql('DROP TRIGGER fail_snapshot ON snapshots');
    }
  });

  it('rolls both back when the connection dies mid-transaction (pg_terminate_backend)', async () => {
    const store = new PostgresEventStore(db.dataSource, { deleteOutboxRows: false });
    const id = `stalled-${randomUUID()}`;
    // Park the transaction after events and outbox rows are written, at its idempotency insert.
    await sql(`CREATE OR REPLACE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$`);
    await sql(`CREATE TRIGGER stall BEFORE INSERT ON idempotency_keys FOR EACH ROW EXECUTE FUNCTION stall()`);
    try {
      const append = store
        .appendToStream(
          id,
          [added(1), added(2)],
          base(0, {
            outbox: { ...outbox, aggregateId: id },
            idempotency: { scope: 'test', key: id, requestHash: 'h', response: () => ({}) },
          }),
        )
        .then(
          () => 'committed',
          (error: unknown) => error,
        );
      const terminated = await withClient(db.urlAs(adminUrl), async (admin) => {
        for (let i = 0; i < 200; i++) {
          const { rows } = await admin.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event = 'PgSleep'`,
            [db.name],
          );
          if (rows.length === 1) {
            // Proves the rows were really written (uncommitted) before the kill.
            const { rows: locks } = await admin.query(
              `SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = $1 AND c.relname IN ('events', 'outbox') AND l.mode = 'RowExclusiveLock'`,
              [rows[0].pid],
            );
            expect(locks).toHaveLength(2);
            await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
            return true;
          }
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        return false;
      });
      expect(terminated).toBe(true);
      // A dropped connection is the database being unavailable (503), with the termination as its cause.
      const error = await append;
      expect(error).toBeInstanceOf(EventStoreUnavailableError);
      expect((error as EventStoreUnavailableError).cause).toEqual(
        expect.objectContaining({ message: expect.stringMatching(/terminat/i) }),
      );
      expect(await counts(id)).toEqual({ events: 0, outbox: 0 });
      // The pool replaced the dead connection: the store keeps working.
      await store.appendToStream(stream(), [added(1)], base(0));
    } finally {
      await sql('DROP TRIGGER stall ON idempotency_keys');
    }
  });
});

describe('PostgresEventStore: snapshots', () => {
  const SCHEMA = 1;
  const aggregate = (store: PostgresEventStore, id: string, stateSchemaVersion: number | undefined = SCHEMA) =>
    store.aggregateStream<CounterState, CounterEvent>(id, { ...counterDecider, stateSchemaVersion });

  /** Appends `length` events in batches of 1–7, as handlers would, letting the store snapshot. */
  async function writeStream(store: PostgresEventStore, id: string, length: number) {
    let i = 0;
    while (i < length) {
      const loaded = await aggregate(store, id);
      const batch = Array.from(
        { length: Math.min(length - i, 1 + ((i * 5 + 3) % 7)) },
        (_, k): CounterEvent =>
          (i + k) % 13 === 12 ? { type: 'Reset', data: {} } : { type: 'Added', data: { amount: i + k } },
      );
      await store.appendToStream(
        id,
        batch,
        base(loaded.version, {
          snapshot: {
            stateSchemaVersion: SCHEMA,
            lastSnapshotVersion: loaded.snapshotVersion,
            state: () => batch.reduce(counterDecider.evolve, loaded.state),
          },
        }),
      );
      i += batch.length;
    }
  }

  it.each([0, 1, 2, 99, 100, 101, 150, 199, 200, 201, 250, 1000])(
    'loading a %i-event stream with its snapshot equals a full replay',
    async (length) => {
      const store = new PostgresEventStore(db.dataSource, { snapshotEvery: 100 });
      const id = stream();
      await writeStream(store, id, length);

      const withSnapshot = await aggregate(store, id);
      const fullReplay = replay(counterDecider, await store.readStream<CounterEvent>(id));
      expect(withSnapshot.state).toEqual(fullReplay);
      expect(withSnapshot.version).toBe(length);
      expect(withSnapshot.state.count).toBe(length);
      // A snapshot was taken within every 100 events, so at most the last 100 + one batch are replayed.
      expect(withSnapshot.snapshotVersion).toBeGreaterThan(length - 107);
      if (length < 100) expect(withSnapshot.snapshotVersion).toBe(0);
      else expect(withSnapshot.snapshotVersion).toBeGreaterThanOrEqual(100);
    },
  );

  it('uses the snapshot (state comes from it, not from replay)', async () => {
    const store = new PostgresEventStore(db.dataSource);
    const id = stream();
    await store.appendToStream(id, [added(1), added(2)], base(0));
    await sql(`INSERT INTO snapshots (stream_id, state_schema_version, version, state) VALUES ($1, 1, 1, $2)`, [
      id,
      JSON.stringify({ total: 1000, count: 1, digest: 1 }),
    ]);
    const loaded = await aggregate(store, id);
    expect(loaded).toEqual({
      state: counterDecider.evolve({ total: 1000, count: 1, digest: 1 }, { type: 'Added', data: { amount: 2 } }),
      version: 2,
      snapshotVersion: 1,
    });
  });

  it('ignores a snapshot written with another state schema version, then writes a current one on the next append', async () => {
    const store = new PostgresEventStore(db.dataSource, { snapshotEvery: 100 });
    const id = stream();
    await writeStream(store, id, 120); // leaves a schema-1 snapshot
    await sql(`UPDATE snapshots SET state = $2 WHERE stream_id = $1`, [
      id,
      JSON.stringify({ total: -1, count: -1, digest: -1 }),
    ]);

    const v2 = await aggregate(store, id, 2);
    expect(v2.snapshotVersion).toBe(0);
    expect(v2.state).toEqual(replay(counterDecider, await store.readStream<CounterEvent>(id)));
    expect((await aggregate(store, id, 1)).state).not.toEqual(v2.state); // the tampered schema-1 one is still there

    const result = await store.appendToStream(
      id,
      [added(1)],
      base(v2.version, {
        snapshot: {
          stateSchemaVersion: 2,
          lastSnapshotVersion: v2.snapshotVersion,
          state: () => counterDecider.evolve(v2.state, added(1)),
        },
      }),
    );
    expect(result.snapshotWritten).toBe(true);
    expect(await aggregate(store, id, 2)).toMatchObject({ version: 121, snapshotVersion: 121 });
  });

  it('keeps every snapshot an append writes (history), and loads start from the newest', async () => {
    const store = new PostgresEventStore(db.dataSource, { snapshotEvery: 100 });
    const id = stream();
    await writeStream(store, id, 250);
    const rows = await sql<{ version: string; state_schema_version: number }>(
      'SELECT version, state_schema_version FROM snapshots WHERE stream_id = $1 ORDER BY version',
      [id],
    );
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.state_schema_version)).toEqual([1, 1]);
    const newest = Number(rows[1].version);
    expect(Number(rows[0].version)).toBeGreaterThanOrEqual(100);
    expect(newest).toBeGreaterThanOrEqual(200);
    // An older snapshot that disagrees with the events is never read: the newest one is.
    await sql(
      `UPDATE snapshots SET state = '{"total": -1, "count": -1, "digest": -1}' WHERE stream_id = $1 AND version = $2`,
      [id, rows[0].version],
    );
    const loaded = await aggregate(store, id);
    expect(loaded.snapshotVersion).toBe(newest);
    expect(loaded.state).toEqual(replay(counterDecider, await store.readStream<CounterEvent>(id)));
  });

  it('writes a due snapshot as a new row even when one exists at an older version', async () => {
    const store = new PostgresEventStore(db.dataSource, { snapshotEvery: 1 });
    const id = stream();
    const snap = (lastSnapshotVersion: number, total: number) => ({
      stateSchemaVersion: 1,
      lastSnapshotVersion,
      state: () => ({ total, count: 0, digest: 0 }),
    });
    await store.appendToStream(id, [added(1)], base(0, { snapshot: snap(0, 1) }));
    await store.appendToStream(id, [added(2)], base(1, { snapshot: snap(1, 3) }));
    expect(await sql('SELECT version, state FROM snapshots WHERE stream_id = $1 ORDER BY version', [id])).toEqual([
      { version: '1', state: { total: 1, count: 0, digest: 0 } },
      { version: '2', state: { total: 3, count: 0, digest: 0 } },
    ]);
  });
});

describe('PostgresEventStore: upcasting stored shapes', () => {
  // Version 1 of `Added` stored the amount as `n`; version 2 calls it `amount`.
  const upcasters = upcasterChain({ Added: { 1: ({ n, ...rest }) => ({ ...rest, amount: n }) } });
  const addedV1 = (n: number): NewEvent<CounterEvent> => ({ type: 'Added', data: { n } as never, schemaVersion: 1 });
  const addedV2 = (amount: number): NewEvent<CounterEvent> => ({ ...added(amount), schemaVersion: 2 });

  it('folds events of an old shape as the current one, and reads them upcast with their current schema version', async () => {
    const store = new PostgresEventStore(db.dataSource, { upcasters });
    const id = stream();
    await store.appendToStream(id, [addedV1(5), addedV2(7), addedV1(11)], base(0));

    const loaded = await store.aggregateStream<CounterState, CounterEvent>(id, counterDecider);
    expect(loaded.state).toEqual(
      [added(5), added(7), added(11)].reduce(counterDecider.evolve, counterDecider.initialState()),
    );
    const events = await store.readStream<CounterEvent>(id);
    expect(events.map((e) => [e.version, e.schemaVersion, e.data])).toEqual([
      [1, 2, { amount: 5 }],
      [2, 2, { amount: 7 }],
      [3, 2, { amount: 11 }],
    ]);
    // Stored as written: history is never rewritten.
    expect(await sql('SELECT schema_version, data FROM events WHERE stream_id = $1 ORDER BY version', [id])).toEqual([
      { schema_version: 1, data: { n: 5 } },
      { schema_version: 2, data: { amount: 7 } },
      { schema_version: 1, data: { n: 11 } },
    ]);
    // Without the chain the same rows fold into nonsense: the upcasting is what makes them right.
    expect(
      (await new PostgresEventStore(db.dataSource).aggregateStream<CounterState, CounterEvent>(id, counterDecider))
        .state.total,
    ).toBeNaN();
  });

  it('upcasts only the events after the snapshot a load starts from', async () => {
    const store = new PostgresEventStore(db.dataSource, { upcasters, snapshotEvery: 2 });
    const id = stream();
    await store.appendToStream(
      id,
      [addedV1(1), addedV1(2)],
      base(0, {
        snapshot: {
          stateSchemaVersion: 1,
          lastSnapshotVersion: 0,
          state: () => [added(1), added(2)].reduce(counterDecider.evolve, counterDecider.initialState()),
        },
      }),
    );
    await store.appendToStream(id, [addedV1(3)], base(2));
    const loaded = await store.aggregateStream<CounterState, CounterEvent>(id, {
      ...counterDecider,
      stateSchemaVersion: 1,
    });
    expect(loaded).toEqual({
      state: [added(1), added(2), added(3)].reduce(counterDecider.evolve, counterDecider.initialState()),
      version: 3,
      snapshotVersion: 2,
    });
  });

  it('fails a load with UPCAST_FAILED when a stored event cannot be lifted', async () => {
    const store = new PostgresEventStore(db.dataSource, { upcasters });
    const id = stream();
    await store.appendToStream(id, [{ type: 'Added', data: 5 as never, schemaVersion: 1 }], base(0));
    const error = await store.aggregateStream(id, counterDecider).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpcastError);
    expect(error).toMatchObject({ code: 'UPCAST_FAILED', type: 'Added', fromVersion: 1 });
  });
});

describe('PostgresEventStore: metrics', () => {
  // A series of the Prometheus text (e.g. `x_count` of histogram `x`), summed over the label sets containing `match`.
  const value = async (series: string, match = '') => {
    const text = await metricsRegistry.getSingleMetricAsString(series.replace(/_count$/, ''));
    return text
      .split('\n')
      .filter((line) => line.startsWith(`${series}{`) && line.includes(match))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  };

  it('counts conflicts and snapshots by stream type, and times replays with and without a snapshot', async () => {
    const store = new PostgresEventStore(db.dataSource, { snapshotEvery: 2 });
    const id = stream();
    const [conflicts, snapshots, fromSnapshot, fromScratch] = await Promise.all([
      value('event_store_conflicts_total', 'stream_type="test.counter"'),
      value('event_snapshots_created_total', 'stream_type="test.counter"'),
      value('event_replay_duration_seconds_count', 'from_snapshot="true"'),
      value('event_replay_duration_seconds_count', 'from_snapshot="false"'),
    ]);
    await store.aggregateStream(id, { ...counterDecider, stateSchemaVersion: 1 });
    await store.appendToStream(
      id,
      [added(1), added(2)],
      base(0, {
        snapshot: { stateSchemaVersion: 1, lastSnapshotVersion: 0, state: () => ({ total: 3, count: 2, digest: 1 }) },
      }),
    );
    await expect(store.appendToStream(id, [added(3)], base(1))).rejects.toBeInstanceOf(ConcurrencyError);
    await store.aggregateStream(id, { ...counterDecider, stateSchemaVersion: 1 });

    expect(await value('event_store_conflicts_total', 'stream_type="test.counter"')).toBe(conflicts + 1);
    expect(await value('event_snapshots_created_total', 'stream_type="test.counter"')).toBe(snapshots + 1);
    expect(await value('event_replay_duration_seconds_count', 'from_snapshot="false"')).toBe(fromScratch + 1);
    expect(await value('event_replay_duration_seconds_count', 'from_snapshot="true"')).toBe(fromSnapshot + 1);
  });
});

describe('PostgresEventStore: group commit', () => {
  const outbox = { aggregateType: 'test.counter', encode: fakeWireEncoder() };
  /**
   * How many transactions wrote these streams' events: `recorded_at` defaults to now(), the start
   * time of the top-level transaction (xmin would not do: each append has its own subtransaction).
   */
  const transactions = async (ids: string[]) =>
    Number(
      (
        await sql<{ n: string }>('SELECT count(DISTINCT recorded_at) AS n FROM events WHERE stream_id = ANY($1)', [ids])
      )[0].n,
    );

  it('commits appends that queued up together in one transaction, each at its own versions with its outbox rows', async () => {
    const store = new PostgresEventStore(db.dataSource, { appendsInFlight: 1, deleteOutboxRows: false });
    const ids = Array.from({ length: 30 }, stream);
    const results = await Promise.all(
      ids.map((id) =>
        store.appendToStream(id, [added(1), added(2)], base(0, { outbox: { ...outbox, aggregateId: id } })),
      ),
    );
    expect(results.map((r) => r.nextExpectedVersion)).toEqual(ids.map(() => 2));
    for (const id of ids) {
      expect((await store.readStream(id)).map((e) => e.version)).toEqual([1, 2]);
      expect(
        await sql('SELECT aggregateversion FROM outbox WHERE aggregateid = $1 ORDER BY aggregateversion', [id]),
      ).toEqual([{ aggregateversion: '1' }, { aggregateversion: '2' }]);
    }
    expect(await transactions(ids)).toBeLessThan(ids.length);
  });

  it('sends each append alone with appendsInFlight: 0', async () => {
    const store = new PostgresEventStore(db.dataSource, { appendsInFlight: 0 });
    const ids = Array.from({ length: 10 }, stream);
    await Promise.all(ids.map((id) => store.appendToStream(id, [added(1)], base(0))));
    expect(await transactions(ids)).toBe(ids.length);
  });

  it.each([1, 0])(
    'rolls back only the append that failed; the others commit (appendsInFlight: %i)',
    async (appendsInFlight) => {
      const store = new PostgresEventStore(db.dataSource, { appendsInFlight, deleteOutboxRows: false });
      await sql(`CREATE OR REPLACE FUNCTION fail_doomed() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN IF NEW.stream_id LIKE 'doomed-%' THEN RAISE EXCEPTION 'disk full (simulated)'; END IF; RETURN NEW; END $$`);
      await sql(`CREATE TRIGGER fail_doomed BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION fail_doomed()`);
      try {
        const ids = [
          ...Array.from({ length: 5 }, stream),
          `doomed-${randomUUID()}`,
          ...Array.from({ length: 5 }, stream),
        ];
        const settled = await Promise.allSettled(
          ids.map((id) => store.appendToStream(id, [added(1)], base(0, { outbox: { ...outbox, aggregateId: id } }))),
        );
        const rejected = settled.flatMap((s, i) =>
          s.status === 'rejected' ? [{ id: ids[i], reason: s.reason as Error }] : [],
        );
        expect(rejected).toEqual([
          { id: ids[5], reason: expect.objectContaining({ message: 'disk full (simulated)' }) },
        ]);
        if (appendsInFlight > 0) expect(rejected[0].reason).toBeInstanceOf(AppendFailedError);
        for (const [i, id] of ids.entries()) {
          const expected = i === 5 ? 0 : 1;
          expect([id, (await sql('SELECT 1 FROM events WHERE stream_id = $1', [id])).length]).toEqual([id, expected]);
          expect([id, (await sql('SELECT 1 FROM outbox WHERE aggregateid = $1', [id])).length]).toEqual([id, expected]);
        }
      } finally {
        await sql('DROP TRIGGER fail_doomed ON events');
      }
    },
  );

  it('isolates an append PostgreSQL refuses from its batch mates: they are stored and acknowledged, it fails alone', async () => {
    const store = new PostgresEventStore(db.dataSource, { appendsInFlight: 1, deleteOutboxRows: false });
    const pool = (db.dataSource.driver as unknown as { master: { query: (config: { values?: unknown[] }) => unknown } })
      .master;
    const sent = jest.spyOn(pool, 'query');
    // Payloads the domain would have refused, sent straight to the store: each makes PostgreSQL
    // refuse the parameters of the whole call they travel in, before any append runs.
    const refused: Record<
      string,
      {
        events: NewEvent<CounterEvent>[];
        options?: Partial<AppendOptions<CounterEvent>>;
        code: string;
        message: RegExp;
      }
    > = {
      [`nul-json-${randomUUID()}`]: {
        events: [{ type: 'Added', data: { amount: 'a\u0000b' as unknown as number } }],
        code: '22P05',
        message: /unsupported Unicode escape sequence/,
      },
      [`surrogate-json-${randomUUID()}`]: {
        events: [{ type: 'Added', data: { amount: '\ud800' as unknown as number } }],
        code: '22P02',
        message: /invalid input syntax for type json/,
      },
      [`nul-text-${randomUUID()}`]: {
        events: [added(1)],
        options: { streamType: 'test.counter\u0000' },
        code: '22021',
        message: /invalid byte sequence/,
      },
    };
    const bad = Object.keys(refused);
    // The first append goes alone; the others queue behind it and travel together.
    const ids = [stream(), ...bad.flatMap((id) => [...Array.from({ length: 8 }, stream), id])];
    try {
      const settled = await Promise.all(
        ids.map((id) =>
          store
            .appendToStream(
              id,
              refused[id]?.events ?? [added(1)],
              base(0, { outbox: { ...outbox, aggregateId: id }, ...refused[id]?.options }),
            )
            .then(
              (value) => ({ id, status: 'fulfilled', value }),
              (reason: unknown) => ({ id, status: 'rejected', reason }),
            ),
        ),
      );
      // They did travel together: some call carried good and bad appends alike.
      const batches = sent.mock.calls
        .map(([config]) => config.values?.[0])
        .filter((v): v is string[] => Array.isArray(v));
      expect(batches.some((streams) => streams.length > 1 && bad.some((id) => streams.includes(id)))).toBe(true);

      for (const outcome of settled) {
        const { id } = outcome;
        const stored = (await sql('SELECT 1 FROM events WHERE stream_id = $1', [id])).length;
        const outboxed = (await sql('SELECT 1 FROM outbox WHERE aggregateid = $1', [id])).length;
        const expected = refused[id];
        if (expected) {
          expect([id, outcome.status, stored, outboxed]).toEqual([id, 'rejected', 0, 0]);
          const reason = 'reason' in outcome ? outcome.reason : undefined;
          expect(reason).toBeInstanceOf(AppendFailedError);
          expect(reason).toMatchObject({ code: expected.code, message: expect.stringMatching(expected.message) });
        } else {
          expect([id, outcome.status, stored, outboxed]).toEqual([id, 'fulfilled', 1, 1]);
          expect(outcome).toMatchObject({ value: { nextExpectedVersion: 1 } });
        }
      }
      await expect(store.appendToStream(stream(), [added(1)], base(0))).resolves.toMatchObject({
        nextExpectedVersion: 1,
      });
    } finally {
      sent.mockRestore();
    }
  });

  it.each([1, 0])(
    'lets one of many appends at the same version win; the rest are conflicts (appendsInFlight: %i)',
    async (appendsInFlight) => {
      const store = new PostgresEventStore(db.dataSource, { appendsInFlight });
      const id = stream();
      const settled = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => store.appendToStream(id, [added(i)], base(0))),
      );
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
      for (const s of settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected')) {
        expect(s.reason).toBeInstanceOf(ConcurrencyError);
        expect(s.reason).toMatchObject({ kind: 'conflict', expectedVersion: 0, actualVersion: 1 });
      }
      expect(await store.readStream(id)).toHaveLength(1);
    },
  );
});

describe('PostgresEventStore: overload', () => {
  it('answers EVENT_STORE_UNAVAILABLE (503, Retry-After) when no connection frees up within the acquire timeout, and recovers', async () => {
    const dataSource = await createEventStoreDataSource({
      url: db.url,
      poolSize: 1,
      connectTimeoutMs: 300,
    }).initialize();
    const store = new PostgresEventStore(dataSource);
    const blocker = dataSource.createQueryRunner();
    try {
      await blocker.connect(); // holds the pool's only connection
      const started = performance.now();
      const appendError = await store.appendToStream(stream(), [added(1)], base(0)).catch((error: unknown) => error);
      const loadError = await store.aggregateStream(stream(), counterDecider).catch((error: unknown) => error);
      expect(performance.now() - started).toBeLessThan(5_000);
      for (const error of [appendError, loadError]) {
        expect(error).toBeInstanceOf(EventStoreUnavailableError);
        expect(error).toMatchObject({
          code: 'EVENT_STORE_UNAVAILABLE',
          httpStatus: 503,
          headers: { 'Retry-After': '1' },
        });
      }
      await blocker.release();
      await expect(store.appendToStream(stream(), [added(1)], base(0))).resolves.toMatchObject({
        nextExpectedVersion: 1,
      });
    } finally {
      if (!blocker.isReleased) await blocker.release();
      await dataSource.destroy();
    }
  });
});
