// The store reader on a real PostgreSQL, as the role rebuilds use (the projector's: SELECT on
// `events` and `events_archive` only): one snapshot, both tables in position order, upcasting.
import { getTestInfra, withClient } from '@cqrs/testing';
import { upcasterChain } from '@cqrs/util';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { createThrowawayDatabase, type ThrowawayDatabase } from '../testing';
import { EventStoreReader, StoreEventUpcastError, type StoreEvent } from './event-store-reader';
import { migrateEventStore } from './migrate';

const owner = (db: ThrowawayDatabase) => (sql: string, params?: unknown[]) =>
  withClient(db.url, (c) => c.query(sql, params));

describe('event store reader', () => {
  let db: ThrowawayDatabase;
  let pool: Pool;
  let sql: ReturnType<typeof owner>;

  beforeAll(async () => {
    const infra = await getTestInfra();
    const projector = new URL(infra.postgres.readUrl).username;
    db = await createThrowawayDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerWriteUrl,
      appRoles: [projector],
    });
    await migrateEventStore(db.url);
    sql = owner(db);
    pool = new Pool({ connectionString: db.urlAs(infra.postgres.readUrl), max: 4 });
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  /** Appends `count` events to a new stream (as the owner, the way the append function stores them). */
  const append = async (
    streamId: string,
    count: number,
    options: { type?: string; streamType?: string; schemaVersion?: number; from?: number } = {},
  ) => {
    const from = options.from ?? 1;
    const rows = await sql(
      `INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version, data)
       SELECT gen_random_uuid(), $1, $2, v, $3, $4, jsonb_build_object('n', v, 'text', 'quote " and \\ backslash é')
         FROM generate_series($5::int, $5::int + $6::int - 1) v ORDER BY v
       RETURNING global_position`,
      [
        streamId,
        options.streamType ?? 'test.thing',
        options.type ?? 'Happened',
        options.schemaVersion ?? 1,
        from,
        count,
      ],
    );
    return rows.rows.map((r: { global_position: string }) => Number(r.global_position));
  };

  /** Moves a stream to the archive, as the archiving path does (same positions). */
  const archive = async (streamId: string) =>
    withClient(db.url, async (c) => {
      await c.query('BEGIN');
      await c.query(`SET LOCAL cqrs.archiving = 'on'`);
      await c.query(
        `INSERT INTO events_archive (global_position, event_id, stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at)
         SELECT global_position, event_id, stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at FROM events WHERE stream_id = $1`,
        [streamId],
      );
      await c.query(`DELETE FROM events WHERE stream_id = $1`, [streamId]);
      await c.query('COMMIT');
    });

  const readAll = async (options: Parameters<EventStoreReader['open']>[0] = {}) => {
    const snapshot = await new EventStoreReader(pool).open(options);
    const events: StoreEvent[] = [];
    const throughs: number[] = [];
    try {
      for await (const batch of snapshot.batches()) {
        events.push(...batch.events);
        throughs.push(batch.throughPosition);
      }
      return { events, throughs, count: await snapshot.count(), highest: snapshot.highestPosition };
    } finally {
      await snapshot.close();
    }
  };

  it('reads events and the archive in one position order, in batches, with every field and any text intact', async () => {
    const type = `t${randomUUID().slice(0, 8)}`;
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await append(a, 3, { streamType: type });
    await append(b, 25, { streamType: type });
    await append(c, 2, { streamType: type });
    await append(a, 4, { streamType: type, from: 4 });
    await archive(b); // b's 25 events sit between a's, in the other table

    const { events, throughs, count } = await readAll({ streamType: type, batchSize: 7, connections: 3 });
    expect(events.map((e) => `${e.streamId.slice(0, 4)}:${e.version}`)).toEqual([
      ...[1, 2, 3].map((v) => `${a.slice(0, 4)}:${v}`),
      ...Array.from({ length: 25 }, (_, i) => `${b.slice(0, 4)}:${i + 1}`),
      ...[1, 2].map((v) => `${c.slice(0, 4)}:${v}`),
      ...[4, 5, 6, 7].map((v) => `${a.slice(0, 4)}:${v}`),
    ]);
    const positions = events.map((e) => e.globalPosition);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    expect(events[0]).toEqual({
      globalPosition: positions[0],
      streamId: a,
      version: 1,
      type: 'Happened',
      schemaVersion: 1,
      data: { n: 1, text: 'quote " and \\ backslash é' },
    });
    expect(count).toBe(34);
    expect(throughs).toEqual([...throughs].sort((x, y) => x - y));
    expect(throughs.length).toBeGreaterThan(1);
  });

  it('is one snapshot: what commits after it opened is not read, however long the read takes', async () => {
    const type = `t${randomUUID().slice(0, 8)}`;
    const s = randomUUID();
    await append(s, 10, { streamType: type });
    const snapshot = await new EventStoreReader(pool).open({ streamType: type, batchSize: 3, connections: 2 });
    try {
      await append(s, 5, { streamType: type, from: 11 }); // committed after the snapshot
      await append(randomUUID(), 5, { streamType: type });
      const seen: StoreEvent[] = [];
      for await (const batch of snapshot.batches()) seen.push(...batch.events);
      expect(seen.map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(await snapshot.count()).toBe(10);
    } finally {
      await snapshot.close();
    }
    expect((await readAll({ streamType: type })).events).toHaveLength(20);
  });

  it('continues after a position, and filters by stream type', async () => {
    const type = `t${randomUUID().slice(0, 8)}`;
    const s = randomUUID();
    const positions = await append(s, 6, { streamType: type });
    await append(randomUUID(), 6, { streamType: `${type}.other` });
    const { events, count } = await readAll({ streamType: type, afterPosition: positions[2] });
    expect(events.map((e) => [e.streamId, e.version])).toEqual([4, 5, 6].map((v) => [s, v]));
    expect(count).toBe(3);
    const all = await readAll({ afterPosition: positions[2] });
    expect(all.events.filter((e) => e.streamId === s)).toHaveLength(3);
    expect(all.events.length).toBeGreaterThan(3);
  });

  it('upcasts each event to its type’s current shape, and names an event it cannot lift', async () => {
    const type = `t${randomUUID().slice(0, 8)}`;
    const s = randomUUID();
    await append(s, 2, { streamType: type, type: 'Created', schemaVersion: 1 });
    const chain = upcasterChain({ Created: { 1: (d) => ({ ...d, priority: d['priority'] ?? 'NORMAL' }) } });
    const { events } = await readAll({ streamType: type, upcasters: chain });
    expect(events.map((e) => [e.schemaVersion, e.data])).toEqual([
      [2, { n: 1, text: expect.any(String), priority: 'NORMAL' }],
      [2, { n: 2, text: expect.any(String), priority: 'NORMAL' }],
    ]);

    const gappy = upcasterChain({ Created: { 1: (d) => d, 2: (d) => d } });
    await sql(
      `INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version, data) VALUES (gen_random_uuid(), $1, $2, 3, 'Created', 1, '"not an object"')`,
      [s, type],
    );
    await expect(readAll({ streamType: type, upcasters: gappy })).rejects.toThrow(StoreEventUpcastError);
    await expect(readAll({ streamType: type, upcasters: gappy })).rejects.toThrow(`event ${s} v3 (Created v1`);
    const kept = await readAll({ streamType: type, upcasters: gappy, onUpcastError: 'keep' });
    expect(kept.events.map((e) => [e.version, e.upcastError?.code ?? null, e.data])).toEqual([
      [1, null, expect.objectContaining({ n: 1 })],
      [2, null, expect.objectContaining({ n: 2 })],
      [3, 'UPCAST_FAILED', 'not an object'],
    ]);
  });

  it('reads sparse positions in few queries, and an empty store as nothing', async () => {
    const type = `t${randomUUID().slice(0, 8)}`;
    const s = randomUUID();
    await append(s, 1, { streamType: type });
    // Positions jump by 5,000 (other writers' rolled-back or other-type rows, say).
    await sql(
      `SELECT setval(pg_get_serial_sequence('events', 'global_position'), (SELECT max(global_position) FROM events) + 5000)`,
    );
    await append(s, 1, { streamType: type, from: 2 });
    const { events, throughs } = await readAll({ streamType: type, batchSize: 10, afterPosition: 0 });
    expect(events.map((e) => e.version)).toEqual([1, 2]);
    expect(throughs.length).toBeLessThan(200); // ranges grow across the empty stretch
    expect((await readAll({ streamType: `${type}.none` })).events).toEqual([]);
  });

  it('gives its connections back when closed early, and after a failed open', async () => {
    const snapshot = await new EventStoreReader(pool).open({ batchSize: 1, connections: 2 });
    for await (const batch of snapshot.batches()) if (batch.events.length > 0) break;
    await snapshot.close();
    await snapshot.close();
    expect(pool.totalCount - pool.idleCount).toBe(0);
    await expect(new EventStoreReader(pool).open({ connections: 0 })).rejects.toThrow(RangeError);
  });
});
