import { ARCHIVED_STREAMS_TABLE, ARCHIVING_SETTING, EVENTS_ARCHIVE_TABLE } from './migrations';
import type { Sql } from './sql';

// Archiving: cold streams (whose last event is terminal and old) move whole from `events` to
// `events_archive`, which keeps the hot table and its indexes (what appends and loads touch) small.
// Loads and reads take both tables; `archived_streams` keeps each archived stream's version for the
// append guard. Only the owner role can do it (the app roles have no DELETE on `events`), in a
// transaction that sets `cqrs.archiving`, which the append-only trigger lets through.

export interface ArchiveStreamsOptions {
  /** Archive a stream when its last event is at least this old (ms). */
  olderThanMs: number;
  /** Event types that end a stream (e.g. completed, deleted): only a stream whose last event is one of them is archived. */
  terminalEventTypes: readonly string[];
  /** Only streams of this type. @default every type */
  streamType?: string;
  /** Streams per transaction. @default 1000 */
  batchSize?: number;
  /** Count what would move, move nothing. @default false */
  dryRun?: boolean;
}

export interface ArchiveStreamsResult {
  /** Streams moved (or, with `dryRun`, to be moved). */
  streams: number;
  /** Their events moved (to be moved). */
  events: number;
  /** Transactions (statements with `dryRun`) it took. */
  batches: number;
  dryRun: boolean;
}

// The next batch of streams to archive: each one's last event (no later version in `events`),
// terminal and old enough, taken in global_position order after the cursor, so a run makes one
// pass over the table's primary key whatever it moves.
const CANDIDATES = `
  candidates AS (
    SELECT e.global_position, e.stream_id FROM events e
    WHERE e.global_position > $1
      AND e.type = ANY ($2::text[])
      AND e.recorded_at < now() - $3::bigint * interval '1 millisecond'
      AND ($4::text IS NULL OR e.stream_type = $4::text)
      AND NOT EXISTS (SELECT 1 FROM events n WHERE n.stream_id = e.stream_id AND n.version > e.version)
    ORDER BY e.global_position
    LIMIT $5
  )`;

const COLUMNS =
  'global_position, event_id, stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at';

// One statement, one snapshot: an append that commits meanwhile is not moved (it stays in
// `events`, after the archived versions) and sees either all of this or nothing of it. A stream
// archived before gets its newer events added, and its archived_streams row updated.
const MOVE = `
  WITH ${CANDIDATES},
  moved AS (
    DELETE FROM events e USING candidates c WHERE e.stream_id = c.stream_id
    RETURNING ${COLUMNS.split(', ')
      .map((c) => `e.${c}`)
      .join(', ')}
  ), archived AS (
    INSERT INTO ${EVENTS_ARCHIVE_TABLE} (${COLUMNS}) SELECT ${COLUMNS} FROM moved ORDER BY global_position
  ), streams AS (
    INSERT INTO ${ARCHIVED_STREAMS_TABLE} (stream_id, stream_type, version, events, last_recorded_at)
    SELECT stream_id, min(stream_type), max(version), count(*), max(recorded_at) FROM moved GROUP BY stream_id
    ON CONFLICT (stream_id) DO UPDATE SET
      version = greatest(${ARCHIVED_STREAMS_TABLE}.version, EXCLUDED.version),
      events = ${ARCHIVED_STREAMS_TABLE}.events + EXCLUDED.events,
      last_recorded_at = greatest(${ARCHIVED_STREAMS_TABLE}.last_recorded_at, EXCLUDED.last_recorded_at),
      archived_at = now()
    RETURNING 1
  )
  SELECT (SELECT max(global_position) FROM candidates) AS cursor, (SELECT count(*) FROM candidates)::int AS candidates,
         (SELECT count(*) FROM streams)::int AS streams, (SELECT count(*) FROM moved)::int AS events`;

const DRY_RUN = `
  WITH ${CANDIDATES}
  SELECT (SELECT max(global_position) FROM candidates) AS cursor, (SELECT count(*) FROM candidates)::int AS candidates,
         (SELECT count(*) FROM candidates)::int AS streams,
         (SELECT count(*) FROM events e JOIN candidates c USING (stream_id))::int AS events`;

/** Archivers (several operators, a cron job) take turns instead of contending for the same rows. */
const ARCHIVE_LOCK = 'cqrs.event-store.archive';

/** Checks {@link ArchiveStreamsOptions}. */
export function archiveSettings(
  options: ArchiveStreamsOptions,
): Required<Omit<ArchiveStreamsOptions, 'streamType'>> & { streamType: string | null } {
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isSafeInteger(options.olderThanMs) || options.olderThanMs < 0) {
    throw new RangeError(`olderThanMs must be a non-negative integer, got ${options.olderThanMs}`);
  }
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${options.batchSize}`);
  if (options.terminalEventTypes.length === 0 || options.terminalEventTypes.some((type) => !type)) {
    throw new RangeError('terminalEventTypes must name at least one event type');
  }
  return {
    olderThanMs: options.olderThanMs,
    terminalEventTypes: options.terminalEventTypes,
    streamType: options.streamType ?? null,
    batchSize,
    dryRun: options.dryRun ?? false,
  };
}

/**
 * Moves cold streams to the archive, a batch of streams per transaction; see {@link ArchiveStreamsOptions}.
 * Needs the owner role (DELETE on `events`).
 */
export async function archiveStreams(sql: Sql, options: ArchiveStreamsOptions): Promise<ArchiveStreamsResult> {
  const { olderThanMs, terminalEventTypes, streamType, batchSize, dryRun } = archiveSettings(options);
  const result: ArchiveStreamsResult = { streams: 0, events: 0, batches: 0, dryRun };
  let cursor = '0';
  for (;;) {
    const params = [cursor, terminalEventTypes, olderThanMs, streamType, batchSize];
    type Row = { cursor: string | null; candidates: number; streams: number; events: number };
    const [row] = dryRun
      ? await sql.dataSource.query<Row[]>(DRY_RUN, params)
      : await sql.transaction(async (runner) => {
          await runner.query(`SELECT set_config('${ARCHIVING_SETTING}', 'on', true)`);
          await runner.query('SELECT pg_advisory_xact_lock(hashtext($1))', [ARCHIVE_LOCK]);
          return (await runner.query(MOVE, params)) as Row[];
        });
    if (row.candidates === 0) return result;
    result.batches += 1;
    result.streams += row.streams;
    result.events += row.events;
    if (row.candidates < batchSize || row.cursor === null) return result;
    cursor = row.cursor;
  }
}

/** Sizes of the event tables (`pg_total_relation_size`: with indexes and TOAST) and row estimates. */
export interface EventStoreSize {
  events: TableSize;
  eventsArchive: TableSize;
  snapshots: TableSize;
  /** Streams in `archived_streams` (exact). */
  archivedStreams: number;
}
export interface TableSize {
  bytes: number;
  /** The planner's estimate (`pg_class.reltuples`); null before the table was first analysed. */
  rowsEstimate: number | null;
}

export async function eventStoreSize(sql: Sql): Promise<EventStoreSize> {
  const tables = ['events', EVENTS_ARCHIVE_TABLE, 'snapshots'];
  const rows = await sql.dataSource.query<{ name: string; bytes: string; rows: number }[]>(
    `SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes, c.reltuples::float8 AS rows
     FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname = ANY ($1)`,
    [tables],
  );
  const [{ n }] = await sql.dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM ${ARCHIVED_STREAMS_TABLE}`);
  const size = (name: string): TableSize => {
    const row = rows.find((r) => r.name === name);
    if (!row) throw new Error(`table ${name} not found: is the event store migrated?`);
    return { bytes: Number(row.bytes), rowsEstimate: row.rows < 0 ? null : row.rows };
  };
  return {
    events: size('events'),
    eventsArchive: size(EVENTS_ARCHIVE_TABLE),
    snapshots: size('snapshots'),
    archivedStreams: Number(n),
  };
}
