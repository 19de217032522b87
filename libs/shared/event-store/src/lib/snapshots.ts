import type { EventEnvelope, UpcasterChain } from '@cqrs/util';
import { loadStream } from './load';
import type { Sql, Statement } from './sql';

// Snapshot maintenance. Appends add a snapshot row every `snapshotEvery` events and loads read the
// newest of their state schema version, so snapshots only accumulate: pruning keeps the newest few
// per stream and state schema version (older ones are only good for debugging and rollbacks),
// statistics say what they cost, and a snapshot can be taken on demand.

/** What {@link pruneSnapshots} may delete. */
export interface PruneSnapshotsOptions {
  /** Snapshots kept per stream and state schema version, newest first. @default 5 */
  keep?: number;
  /** Snapshots older than this are deleted even within `keep`. @default 90 days */
  maxAgeMs?: number;
  /** Count what would be deleted, delete nothing. @default false */
  dryRun?: boolean;
  /** Streams per statement (each batch is one short statement). @default 1000 */
  batchSize?: number;
}

export interface PruneSnapshotsResult {
  /** Streams with snapshots looked at. */
  streams: number;
  /** Snapshots looked at. */
  snapshots: number;
  /** Deleted (or, with `dryRun`, to be deleted): `beyondKeep + expired`. */
  deleted: number;
  /** Deleted for being beyond the newest `keep` of their stream and state schema version. */
  beyondKeep: number;
  /** Deleted for being older than `maxAgeMs` (within `keep`). */
  expired: number;
  dryRun: boolean;
}

export const DEFAULT_SNAPSHOT_KEEP = 5;
export const DEFAULT_SNAPSHOT_MAX_AGE_MS = 90 * 86_400_000;

// A batch of streams (keyset on stream_id, the key's first column) and their snapshots ranked per
// state schema version. The newest snapshot of a stream's newest state schema version is never
// doomed, whatever its age: it is what the next load starts from.
const PRUNE_CANDIDATES = `
  WITH streams AS (
    SELECT DISTINCT stream_id FROM snapshots WHERE stream_id > $1 ORDER BY stream_id LIMIT $2
  ), ranked AS (
    SELECT s.stream_id, s.state_schema_version, s.version, s.created_at,
           row_number() OVER (PARTITION BY s.stream_id, s.state_schema_version ORDER BY s.version DESC) AS rank,
           max(s.state_schema_version) OVER (PARTITION BY s.stream_id) AS newest_schema
    FROM snapshots s JOIN streams USING (stream_id)
  ), doomed AS (
    SELECT stream_id, state_schema_version, version, rank > $3 AS beyond_keep
    FROM ranked
    WHERE NOT (rank = 1 AND state_schema_version = newest_schema)
      AND (rank > $3 OR created_at < now() - $4::bigint * interval '1 millisecond')
  )`;
const PRUNE_COUNTS = `
  (SELECT max(stream_id) FROM streams) AS last_stream,
  (SELECT count(*) FROM streams)::int AS streams,
  (SELECT count(*) FROM ranked)::int AS snapshots,
  (SELECT count(*) FILTER (WHERE beyond_keep) FROM doomed)::int AS beyond_keep,
  (SELECT count(*) FILTER (WHERE NOT beyond_keep) FROM doomed)::int AS expired`;
const PRUNE: Statement = {
  name: 'cqrs_es_prune_snapshots_v1',
  text: `${PRUNE_CANDIDATES}, deleted AS (
    DELETE FROM snapshots s USING doomed d
    WHERE s.stream_id = d.stream_id AND s.state_schema_version = d.state_schema_version AND s.version = d.version
    RETURNING 1
  )
  SELECT ${PRUNE_COUNTS}, (SELECT count(*) FROM deleted)::int AS deleted`,
};
const PRUNE_DRY_RUN: Statement = {
  name: 'cqrs_es_prune_snapshots_dry_run_v1',
  text: `${PRUNE_CANDIDATES}
  SELECT ${PRUNE_COUNTS}, (SELECT count(*) FROM doomed)::int AS deleted`,
};

/** Checks {@link PruneSnapshotsOptions} and fills in the defaults. */
export function pruneSnapshotsSettings(options: PruneSnapshotsOptions = {}): Required<PruneSnapshotsOptions> {
  const settings = {
    keep: options.keep ?? DEFAULT_SNAPSHOT_KEEP,
    maxAgeMs: options.maxAgeMs ?? DEFAULT_SNAPSHOT_MAX_AGE_MS,
    dryRun: options.dryRun ?? false,
    batchSize: options.batchSize ?? 1000,
  };
  if (!Number.isSafeInteger(settings.keep) || settings.keep < 1)
    throw new RangeError(`keep must be a positive integer, got ${options.keep}`);
  if (!Number.isSafeInteger(settings.maxAgeMs) || settings.maxAgeMs < 0) {
    throw new RangeError(`maxAgeMs must be a non-negative integer, got ${options.maxAgeMs}`);
  }
  if (!Number.isSafeInteger(settings.batchSize) || settings.batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${options.batchSize}`);
  }
  return settings;
}

/**
 * Deletes all but the newest `keep` snapshots per stream and state schema version, and those older
 * than `maxAgeMs`, but never the newest snapshot of a stream's newest state schema version.
 * Streams are taken in batches, one statement each.
 */
export async function pruneSnapshots(sql: Sql, options: PruneSnapshotsOptions = {}): Promise<PruneSnapshotsResult> {
  const { keep, maxAgeMs, dryRun, batchSize } = pruneSnapshotsSettings(options);
  const total: PruneSnapshotsResult = { streams: 0, snapshots: 0, deleted: 0, beyondKeep: 0, expired: 0, dryRun };
  let after = '';
  for (;;) {
    const [row] = await sql.once<{
      last_stream: string | null;
      streams: number;
      snapshots: number;
      beyond_keep: number;
      expired: number;
      deleted: number;
    }>(dryRun ? PRUNE_DRY_RUN : PRUNE, [after, batchSize, keep, maxAgeMs]);
    total.streams += row.streams;
    total.snapshots += row.snapshots;
    total.beyondKeep += row.beyond_keep;
    total.expired += row.expired;
    total.deleted += row.deleted;
    if (row.last_stream === null || row.streams < batchSize) return total;
    after = row.last_stream;
  }
}

/** Snapshots of one state schema version, or of all of them. */
export interface SnapshotGroupStats {
  snapshots: number;
  /** Streams with at least one. */
  streams: number;
  /** Sum of the states' stored sizes (`pg_column_size`, after compression). */
  stateBytes: number;
  /** Seconds since the oldest and the newest was written; null without snapshots. */
  oldestAgeSeconds: number | null;
  newestAgeSeconds: number | null;
}

export interface SnapshotStats extends SnapshotGroupStats {
  /** The table with its indexes and TOAST (`pg_total_relation_size`). */
  tableBytes: number;
  byStateSchemaVersion: (SnapshotGroupStats & { stateSchemaVersion: number })[];
}

const STATS: Statement = {
  name: 'cqrs_es_snapshot_stats_v1',
  text: `
  SELECT state_schema_version, grouping(state_schema_version) = 1 AS total,
         count(*)::bigint AS snapshots, count(DISTINCT stream_id)::bigint AS streams,
         coalesce(sum(pg_column_size(state)), 0)::bigint AS state_bytes,
         extract(epoch FROM now() - min(created_at))::float8 AS oldest_age_seconds,
         extract(epoch FROM now() - max(created_at))::float8 AS newest_age_seconds,
         pg_total_relation_size('snapshots') AS table_bytes
  FROM snapshots
  GROUP BY GROUPING SETS ((state_schema_version), ())
  ORDER BY total, state_schema_version`,
};

/** Counts, sizes and ages of the snapshots, in total and per state schema version (reads the whole table). */
export async function snapshotStats(sql: Sql): Promise<SnapshotStats> {
  const rows = await sql.once<{
    state_schema_version: number | null;
    total: boolean;
    snapshots: string;
    streams: string;
    state_bytes: string;
    oldest_age_seconds: number | null;
    newest_age_seconds: number | null;
    table_bytes: string;
  }>(STATS, []);
  const group = (row: (typeof rows)[number]): SnapshotGroupStats => ({
    snapshots: Number(row.snapshots),
    streams: Number(row.streams),
    stateBytes: Number(row.state_bytes),
    oldestAgeSeconds: row.oldest_age_seconds,
    newestAgeSeconds: row.newest_age_seconds,
  });
  const total = rows.find((row) => row.total);
  if (!total) throw new Error('snapshot statistics returned no total row');
  return {
    ...group(total),
    tableBytes: Number(total.table_bytes),
    byStateSchemaVersion: rows
      .filter((row) => !row.total)
      .map((row) => ({ stateSchemaVersion: Number(row.state_schema_version), ...group(row) })),
  };
}

/** How to fold a stream for {@link takeSnapshot}: the aggregate's evolve and initial state, and its state schema version. */
export interface TakeSnapshotOptions<S, E extends EventEnvelope> {
  evolve(state: S, event: E): S;
  initialState(): S;
  stateSchemaVersion: number;
}

export interface TakeSnapshotResult {
  streamId: string;
  /** The stream's version, which the snapshot is at; 0: no events, no snapshot. */
  version: number;
  stateSchemaVersion: number;
  /** False when the stream has no events, or a snapshot at this version existed already. */
  written: boolean;
}

const INSERT_SNAPSHOT: Statement = {
  name: 'cqrs_es_insert_snapshot_v1',
  text: `INSERT INTO snapshots (stream_id, state_schema_version, version, state) VALUES ($1, $2, $3, $4::jsonb)
         ON CONFLICT DO NOTHING RETURNING 1`,
};

/**
 * "Snapshot now": folds the whole stream from its events (upcast; not from a snapshot, so a bad
 * snapshot is not copied forward) and inserts a snapshot at its current version.
 */
export async function takeSnapshot<S, E extends EventEnvelope>(
  sql: Sql,
  upcasters: UpcasterChain,
  streamId: string,
  options: TakeSnapshotOptions<S, E>,
): Promise<TakeSnapshotResult> {
  const { stateSchemaVersion } = options;
  if (!Number.isSafeInteger(stateSchemaVersion) || stateSchemaVersion < 1) {
    throw new RangeError(`stateSchemaVersion must be a positive integer, got ${stateSchemaVersion}`);
  }
  const folded = await loadStream(sql, upcasters, streamId, {
    evolve: options.evolve,
    initialState: options.initialState,
  });
  if (folded.version === 0) return { streamId, version: 0, stateSchemaVersion, written: false };
  const inserted = await sql.once(INSERT_SNAPSHOT, [
    streamId,
    stateSchemaVersion,
    folded.version,
    JSON.stringify(folded.state),
  ]);
  return { streamId, version: folded.version, stateSchemaVersion, written: inserted.length > 0 };
}
