import { NO_UPCASTERS, UpcastError, type UpcasterChain } from '@cqrs/util';
import type { Pool, PoolClient } from 'pg';
import { EVENTS_ARCHIVE_TABLE } from './migrations/1764000000005-archive-and-snapshot-history';

/** An event as the store reader yields it: lifted to its type's current shape, with its positions. */
export interface StoreEvent {
  /** Ascending across the store (not gap-free). */
  globalPosition: number;
  streamId: string;
  /** The event's version in its stream (1, 2, …). */
  version: number;
  type: string;
  /** The shape `data` has: the type's current version once upcast. */
  schemaVersion: number;
  /** The domain event's data (JSON), upcast. */
  data: unknown;
  /** Set (with `data` as stored) when the chain could not lift it and `onUpcastError` is `keep`. */
  upcastError?: UpcastError;
}

/** One batch of a snapshot read: its events in `global_position` order. */
export interface StoreEventBatch {
  events: StoreEvent[];
  /**
   * Every event of the snapshot at or below this position has been yielded (in this batch or an
   * earlier one): where a later read continues (`afterPosition`).
   */
  throughPosition: number;
}

export interface StoreReadOptions {
  /** Read only events after this global position (exclusive). @default 0, from the first event */
  afterPosition?: number;
  /** Read only streams of this type (e.g. `tasks.task`). @default every type */
  streamType?: string;
  /**
   * About how many events one batch holds. A batch is one query over a range of positions,
   * aggregated to one JSON text by PostgreSQL (one value to parse instead of a row per event).
   * @default 10_000
   */
  batchSize?: number;
  /**
   * Connections reading in the same snapshot (the first exports it, the others import it), each
   * querying every n-th range: PostgreSQL's side of the read then runs on as many cores. The pool
   * must allow that many (one more while {@link EventStoreSnapshot.count} runs). @default 2
   */
  connections?: number;
  /** Batches queried ahead of the one the caller is working on. @default connections + 1 */
  prefetch?: number;
  /** Lifts stored events to their type's current shape. @default {@link NO_UPCASTERS} */
  upcasters?: UpcasterChain;
  /**
   * What an event the chain cannot lift does: `throw` ends the read with the {@link UpcastError}
   * (naming the event), `keep` yields it as stored with `upcastError` set. @default 'throw'
   */
  onUpcastError?: 'throw' | 'keep';
}

/** Raised when a stored event cannot be lifted to its type's current shape (`onUpcastError: 'throw'`). */
export class StoreEventUpcastError extends Error {
  readonly code = 'UPCAST_FAILED';
  constructor(
    readonly event: { globalPosition: number; streamId: string; version: number; type: string; schemaVersion: number },
    cause: UpcastError,
  ) {
    super(
      `event ${event.streamId} v${event.version} (${event.type} v${event.schemaVersion}, position ${event.globalPosition}): ${cause.message}`,
      { cause },
    );
    this.name = 'StoreEventUpcastError';
  }
}

const EVENTS = 'events';

/** `events` and the archive as one relation; the outer filters reach both index scans (a Merge Append). */
const ALL_EVENTS = `(SELECT global_position, stream_id, stream_type, version, type, schema_version, data FROM ${EVENTS}
  UNION ALL SELECT global_position, stream_id, stream_type, version, type, schema_version, data FROM ${EVENTS_ARCHIVE_TABLE}) AS e`;
const OF_TYPE = `($1::text IS NULL OR e.stream_type = $1::text)`;

// One range of positions as ONE text value: a JSON array of [position, stream, version, type,
// schema version, data]. Building it costs PostgreSQL a little more than sending rows, and saves
// the reader most of its CPU (one JSON.parse per batch instead of a protocol row per event).
const RANGE = `SELECT count(*)::int AS n,
    '[' || string_agg('[' || e.global_position || ',' || to_json(e.stream_id)::text || ',' || e.version || ','
      || to_json(e.type)::text || ',' || e.schema_version || ',' || e.data::text || ']', ',' ORDER BY e.global_position) || ']' AS events
  FROM ${ALL_EVENTS} WHERE ${OF_TYPE} AND e.global_position > $2::bigint AND e.global_position <= $3::bigint`;
const COUNT = `SELECT count(*) AS n FROM ${ALL_EVENTS} WHERE ${OF_TYPE} AND e.global_position > $2::bigint`;
const BOUNDS = `SELECT pg_export_snapshot() AS snapshot,
    least((SELECT min(global_position) FROM ${EVENTS}), (SELECT min(global_position) FROM ${EVENTS_ARCHIVE_TABLE})) AS lowest,
    greatest((SELECT max(global_position) FROM ${EVENTS}), (SELECT max(global_position) FROM ${EVENTS_ARCHIVE_TABLE})) AS highest`;

type Row = [number, string, number, string, number, unknown];

/**
 * Reads the whole event store (`events` and `events_archive`) in `global_position` order, inside
 * ONE `REPEATABLE READ READ ONLY` transaction: a consistent snapshot in which every stream is a
 * gap-free prefix of its versions (version N + 1 is only appended after version N committed), so
 * a fold of what it yields is a fold of the store as of one instant. For rebuilds and new
 * projections (the source of truth, however long Kafka keeps a topic) and reconciliation.
 *
 * The snapshot holds back vacuum on the write database while it is open: close it.
 *
 * @param pool a pool that may SELECT `events` and `events_archive` (the projector's role does)
 */
export class EventStoreReader {
  constructor(private readonly pool: Pool) {}

  /** Opens a snapshot: events committed after this call are not part of it. */
  async open(options: StoreReadOptions = {}): Promise<EventStoreSnapshot> {
    const connections = options.connections ?? 2;
    if (!Number.isSafeInteger(connections) || connections < 1)
      throw new RangeError(`connections must be a positive integer, not ${connections}`);
    const clients: PoolClient[] = [];
    try {
      const first = await this.pool.connect();
      clients.push(first);
      await first.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The snapshot is taken by this first statement.
      const head = await first.query<{ snapshot: string; lowest: string | null; highest: string | null }>(BOUNDS);
      const { snapshot, lowest, highest } = head.rows[0]!;
      for (let i = 1; i < connections; i++) clients.push(await joinSnapshot(this.pool, snapshot));
      return new EventStoreSnapshot(this.pool, clients, snapshot, Number(lowest ?? 1), Number(highest ?? 0), options);
    } catch (error) {
      await Promise.all(clients.map((c) => endRead(c)));
      throw error;
    }
  }
}

/** An open snapshot of the store; iterate {@link batches} once, then {@link close} it. */
export class EventStoreSnapshot {
  private readonly batchSize: number;
  private readonly after: number;
  private readonly streamType: string | null;
  private readonly upcasters: UpcasterChain;
  private closed = false;
  private counting: Promise<number> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly clients: PoolClient[],
    /** The exported snapshot's id (valid while this snapshot is open). */
    readonly snapshotId: string,
    /** The lowest position in the snapshot. */
    readonly lowestPosition: number,
    /** The highest position in the snapshot (0 when the store is empty). */
    readonly highestPosition: number,
    private readonly options: StoreReadOptions,
  ) {
    this.batchSize = options.batchSize ?? 10_000;
    if (!Number.isSafeInteger(this.batchSize) || this.batchSize < 1)
      throw new RangeError(`batchSize must be a positive integer, not ${this.batchSize}`);
    this.after = options.afterPosition ?? 0;
    if (!Number.isSafeInteger(this.after) || this.after < 0)
      throw new RangeError(`afterPosition must be a non-negative integer, not ${this.after}`);
    this.streamType = options.streamType ?? null;
    this.upcasters = options.upcasters ?? NO_UPCASTERS;
  }

  /**
   * How many events {@link batches} yields: counted in the same snapshot on a connection of its
   * own, so it runs beside the read (a scan of the tables; for progress and an ETA).
   */
  count(): Promise<number> {
    this.counting ??= (async () => {
      const client = await joinSnapshot(this.pool, this.snapshotId);
      try {
        const result = await client.query<{ n: string }>(COUNT, [this.streamType, this.after]);
        return Number(result.rows[0]?.n ?? 0);
      } finally {
        await endRead(client);
      }
    })();
    return this.counting;
  }

  /**
   * The snapshot's events after `afterPosition`, in `global_position` order, in batches of about
   * `batchSize`. Up to `prefetch` batches are queried ahead (spread over the connections), so the
   * store keeps reading while the caller applies a batch.
   */
  async *batches(): AsyncGenerator<StoreEventBatch> {
    if (this.closed) throw new Error('the snapshot is closed');
    const prefetch = Math.max(1, this.options.prefetch ?? this.clients.length + 1);
    const inFlight: { hi: number; result: Promise<Row[]> }[] = [];
    // Nothing lies below the lowest position: start there rather than at 0.
    let next = Math.max(this.after, this.lowestPosition - 1);
    // Positions per query: starts at batchSize (positions are nearly dense) and adapts to how
    // many events a range held, so sparse stretches (other stream types, gaps) cost fewer
    // queries; at most 8 times, so a dense stretch after a sparse one makes no huge batch.
    let span = this.batchSize;
    let turn = 0;
    const issue = () => {
      if (next >= this.highestPosition) return false;
      const lo = next;
      const hi = Math.min(lo + span, this.highestPosition);
      next = hi;
      const client = this.clients[turn++ % this.clients.length]!;
      const result = client.query<{ n: number; events: string | null }>(RANGE, [this.streamType, lo, hi]).then((r) => {
        const text = r.rows[0]?.events;
        return text ? (JSON.parse(text) as Row[]) : [];
      });
      result.catch(() => undefined); // awaited below, or abandoned when the caller stops early
      inFlight.push({ hi, result });
      return true;
    };
    while (inFlight.length < prefetch && issue());
    while (inFlight.length > 0) {
      const { hi, result } = inFlight.shift()!;
      const rows = await result;
      if (rows.length < this.batchSize / 2) span = Math.min(span * 2, this.batchSize * 8);
      else if (rows.length > this.batchSize)
        span = Math.max(this.batchSize, Math.floor((span * this.batchSize) / rows.length));
      while (inFlight.length < prefetch && issue());
      yield { events: rows.map((row) => this.toEvent(row)), throughPosition: hi };
    }
  }

  /** Ends the transaction and returns the connections; safe to call more than once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.counting?.catch(() => undefined); // it imports the snapshot: before the export ends
    await Promise.all(this.clients.map((c) => endRead(c)));
  }

  private toEvent([globalPosition, streamId, version, type, schemaVersion, data]: Row): StoreEvent {
    const stored: StoreEvent = { globalPosition, streamId, version, type, schemaVersion, data };
    try {
      return this.upcasters.upcast(stored);
    } catch (error) {
      if (!(error instanceof UpcastError)) throw error;
      if (this.options.onUpcastError === 'keep') return { ...stored, upcastError: error };
      throw new StoreEventUpcastError(stored, error);
    }
  }
}

/** A pooled connection in a transaction that reads exactly the exported snapshot `snapshotId`. */
async function joinSnapshot(pool: Pool, snapshotId: string): Promise<PoolClient> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT '${snapshotId.replace(/'/g, "''")}'`);
    return client;
  } catch (error) {
    await endRead(client);
    throw error;
  }
}

/** Ends a read transaction and releases its connection (destroying it if it broke). */
async function endRead(client: PoolClient): Promise<void> {
  try {
    await client.query('ROLLBACK');
    client.release();
  } catch (error) {
    client.release(error as Error);
  }
}
