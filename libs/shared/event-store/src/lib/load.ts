import type { EventEnvelope, UpcasterChain } from '@cqrs/util';
import type { AggregateOptions, AggregateResult, EventMetadata, RecordedEvent } from './event-store.types';
import { ARCHIVED_STREAMS_TABLE, EVENTS_ARCHIVE_TABLE } from './migrations';
import type { Sql, Statement } from './sql';

// Reading streams. A stream's events are in `events`, or, once archived, in `events_archive`
// (an archived stream appended to again has its older events there and the newer ones here, never
// the same version in both), so every read takes both tables; stored shapes are lifted to the
// current ones through the store's upcaster chain before anyone sees them.

// Only a snapshot of the caller's state schema version is usable (a NULL version matches none),
// the newest of them. Its row has type NULL; the events after it come in version order from the
// unique indexes, the archived ones (all older than any hot one) first. There is no outer ORDER
// BY: sorting 10,000 rows in PostgreSQL cost more than the round trip saved, and the load checks
// the order itself.
export const LOAD: Statement = {
  name: 'cqrs_es_load_v2',
  text: `
  WITH snapshot AS (
    SELECT version, state FROM snapshots WHERE stream_id = $1 AND state_schema_version = $2
    ORDER BY version DESC LIMIT 1
  )
  SELECT version, NULL::text AS type, NULL::integer AS schema_version, state AS data FROM snapshot
  UNION ALL
  (SELECT version, type, schema_version, data FROM ${EVENTS_ARCHIVE_TABLE}
   WHERE stream_id = $1 AND version > coalesce((SELECT version FROM snapshot), 0)
   ORDER BY version)
  UNION ALL
  (SELECT version, type, schema_version, data FROM events
   WHERE stream_id = $1 AND version > coalesce((SELECT version FROM snapshot), 0)
   ORDER BY version)`,
};

const COLUMNS =
  'global_position, event_id, stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at';
export const READ_STREAM: Statement = {
  name: 'cqrs_es_read_stream_v1',
  text: `
  SELECT ${COLUMNS} FROM ${EVENTS_ARCHIVE_TABLE} WHERE stream_id = $1 AND version > $2
  UNION ALL
  SELECT ${COLUMNS} FROM events WHERE stream_id = $1 AND version > $2
  ORDER BY version`,
};

// An archived stream's version is in archived_streams (its events may have left `events` entirely).
export const STREAM_VERSION: Statement = {
  name: 'cqrs_es_stream_version_v2',
  text: `SELECT greatest(
    (SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1),
    (SELECT coalesce(max(version), 0) FROM ${ARCHIVED_STREAMS_TABLE} WHERE stream_id = $1)) AS version`,
};

export type LoadRow = { version: string; type: string | null; schema_version: number | null; data: unknown };

interface EventRow {
  global_position: string;
  event_id: string;
  stream_id: string;
  stream_type: string;
  version: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: EventMetadata;
  recorded_at: Date;
}

/**
 * A stored event's data in its type's current shape: as stored when it is current (no copy), else
 * lifted by `upcasters` (throws `UpcastError` when a step is missing).
 */
export function upcastData(upcasters: UpcasterChain, type: string, schemaVersion: number, data: unknown): unknown {
  const current = upcasters.currentVersions.get(type);
  if (current === undefined || schemaVersion >= current) return data;
  return upcasters.upcast({ type, schemaVersion, data }).data;
}

/**
 * Folds the rows of {@link LOAD}: the snapshot row (type NULL) sets the state, each event row is
 * upcast and evolved, in version order.
 */
export function foldRows<S, E extends EventEnvelope>(
  rows: LoadRow[],
  options: AggregateOptions<S, E>,
  upcasters: UpcasterChain,
): AggregateResult<S> {
  let state = options.initialState();
  let snapshotVersion = 0;
  let version = 0;
  for (const row of inVersionOrder(rows)) {
    version = Number(row.version);
    if (row.type === null) {
      state = row.data as S;
      snapshotVersion = version;
    } else {
      const data = upcastData(upcasters, row.type, row.schema_version ?? 1, row.data);
      state = options.evolve(state, { type: row.type, data } as E);
    }
  }
  return { state, version, snapshotVersion };
}

/** One round trip for the newest usable snapshot (if any) and the events after it, folded. */
export async function loadStream<S, E extends EventEnvelope>(
  sql: Sql,
  upcasters: UpcasterChain,
  streamId: string,
  options: AggregateOptions<S, E>,
): Promise<AggregateResult<S>> {
  const rows = await sql.once<LoadRow>(LOAD, [streamId, options.stateSchemaVersion ?? null]);
  return foldRows(rows, options, upcasters);
}

/** Every event of a stream after `afterVersion`, archived or not, upcast, in version order. */
export async function readStream<E extends EventEnvelope>(
  sql: Sql,
  upcasters: UpcasterChain,
  streamId: string,
  afterVersion: number,
): Promise<RecordedEvent<E>[]> {
  const rows = await sql.once<EventRow>(READ_STREAM, [streamId, afterVersion]);
  return rows.map((row) => {
    const { schemaVersion, data } = upcasters.upcast({
      type: row.type,
      schemaVersion: row.schema_version,
      data: row.data,
    });
    return {
      type: row.type,
      data,
      globalPosition: Number(row.global_position),
      eventId: row.event_id,
      streamId: row.stream_id,
      streamType: row.stream_type,
      version: Number(row.version),
      schemaVersion,
      metadata: row.metadata,
      recordedAt: row.recorded_at,
    } as RecordedEvent<E>;
  });
}

export async function streamVersion(sql: Sql, streamId: string): Promise<number> {
  const [row] = await sql.once<{ version: string }>(STREAM_VERSION, [streamId]);
  return Number(row.version);
}

/**
 * UNION ALL keeps its branches' order in every plan PostgreSQL makes for this query, but SQL does
 * not promise it; a linear check keeps a reordered result from silently corrupting a fold.
 */
export function inVersionOrder(rows: LoadRow[]): LoadRow[] {
  for (let i = 1; i < rows.length; i++) {
    if (Number(rows[i].version) <= Number(rows[i - 1].version)) {
      return [...rows].sort((a, b) => Number(a.version) - Number(b.version));
    }
  }
  return rows;
}
