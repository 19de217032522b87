import type { StoreStreamState } from '@cqrs/tasks-read-model';
import type { Pool, PoolClient } from 'pg';
import { StreamFold, type StoreEventRow } from './stream-fold';

/** Raised when the event store cannot be read as configured (exit status 2). */
export class ReconcileSetupError extends Error {
  override readonly name = 'ReconcileSetupError';
}

// `events` and the archive as one relation, ordered by (stream_id, version): both tables have a
// unique index on it, so a keyset chunk is a Merge Append of two index scans that stops after
// LIMIT rows, however large the store.
const ALL_EVENTS = `(SELECT stream_id, stream_type, version, event_id, type, schema_version, data FROM events
  UNION ALL SELECT stream_id, stream_type, version, event_id, type, schema_version, data FROM events_archive) AS e`;

// One chunk as ONE text value (a JSON array of [stream, version, event id, type, schema version,
// data]): one JSON.parse per chunk instead of a protocol row per event.
const aggregated = (inner: string) => `SELECT count(*)::int AS n,
  '[' || string_agg('[' || to_json(c.stream_id)::text || ',' || c.version || ',"' || c.event_id || '",' || to_json(c.type)::text
    || ',' || c.schema_version || ',' || c.data::text || ']', ',' ORDER BY c.stream_id, c.version) || ']' AS events
  FROM (${inner}) AS c`;

type Row = [string, number, string, string, number, unknown];

const toEvent = ([streamId, version, eventId, type, schemaVersion, data]: Row): StoreEventRow => ({
  streamId,
  version,
  eventId,
  type,
  schemaVersion,
  data,
});

/** Checks that the store is readable as `pool`'s role: both tables exist and may be read. */
export async function checkStoreAccess(pool: Pool): Promise<void> {
  const result = await pool.query<{ role: string; events: boolean | null; archive: boolean | null }>(
    `SELECT current_user AS role,
       CASE WHEN to_regclass('events') IS NULL THEN NULL ELSE has_table_privilege('events', 'SELECT') END AS events,
       CASE WHEN to_regclass('events_archive') IS NULL THEN NULL ELSE has_table_privilege('events_archive', 'SELECT') END AS archive`,
  );
  const { role, events, archive } = result.rows[0]!;
  if (events === null || archive === null) {
    throw new ReconcileSetupError(
      `the event store (EVENT_STORE_DATABASE_URL) has no ${events === null ? 'events' : 'events_archive'} table: migrate the write database first (npm run db:migrate)`,
    );
  }
  if (!events || !archive) {
    throw new ReconcileSetupError(
      `role ${role} may not read events and events_archive (EVENT_STORE_DATABASE_URL): the event-store migrations grant it to cqrs_projector`,
    );
  }
}

/**
 * One `REPEATABLE READ READ ONLY` snapshot of the store, read in chunks of `chunkSize` events in
 * (stream_id, version) order, so memory stays bounded by a chunk whatever the store's size.
 */
export class StoreSnapshot {
  private constructor(
    private readonly client: PoolClient,
    private readonly streamType: string,
    private readonly chunkSize: number,
  ) {}

  static async open(pool: Pool, options: { streamType: string; chunkSize?: number }): Promise<StoreSnapshot> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The snapshot is taken by the first statement of the transaction.
      await client.query('SELECT 1 FROM events LIMIT 0');
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    return new StoreSnapshot(client, options.streamType, options.chunkSize ?? 5_000);
  }

  /**
   * The next chunk after (`after.streamId`, `after.version`), or from the start; `ids` restricts
   * it to those streams. An empty array: nothing is left.
   */
  async chunk(after: { streamId: string; version: number } | null, ids?: readonly string[]): Promise<StoreEventRow[]> {
    const params: unknown[] = [this.streamType, this.chunkSize];
    const where = ['e.stream_type = $1'];
    if (ids) {
      params.push(ids);
      where.push(`e.stream_id = ANY($${params.length}::text[])`);
    }
    if (after) {
      params.push(after.streamId, after.version);
      where.push(`(e.stream_id, e.version) > ($${params.length - 1}::text, $${params.length}::bigint)`);
    }
    const inner = `SELECT e.* FROM ${ALL_EVENTS} WHERE ${where.join(' AND ')} ORDER BY e.stream_id, e.version LIMIT $2`;
    const result = await this.client.query<{ n: number; events: string | null }>(aggregated(inner), params);
    const text = result.rows[0]?.events;
    return text ? (JSON.parse(text) as Row[]).map(toEvent) : [];
  }

  async close(): Promise<void> {
    try {
      await this.client.query('ROLLBACK');
      this.client.release();
    } catch (error) {
      this.client.release(error as Error);
    }
  }
}

/**
 * Streams of the store folded to their latest version, read in one statement (its own snapshot):
 * the source a repair rewrites streams from. A stream the store lacks is version 0, `none`.
 */
export function storeStreamSource(pool: Pool, streamType: string) {
  return async (ids: readonly string[]): Promise<Map<string, StoreStreamState | { error: string }>> => {
    const result = await pool.query<{ n: number; events: string | null }>(
      aggregated(`SELECT e.* FROM ${ALL_EVENTS} WHERE e.stream_type = $1 AND e.stream_id = ANY($2::text[])`),
      [streamType, ids],
    );
    const folds = new Map<string, StreamFold>();
    for (const e of result.rows[0]?.events ? (JSON.parse(result.rows[0].events) as Row[]).map(toEvent) : []) {
      let fold = folds.get(e.streamId);
      if (!fold) folds.set(e.streamId, (fold = new StreamFold(e.streamId, 0)));
      fold.add(e);
    }
    const states = new Map<string, StoreStreamState | { error: string }>();
    for (const id of ids) {
      const fold = folds.get(id);
      states.set(
        id,
        !fold
          ? { version: 0, state: { status: 'none' } }
          : fold.error
            ? { error: fold.error }
            : { version: fold.version, state: fold.state },
      );
    }
    return states;
  };
}
