import type { Pool } from 'pg';
import { generationTables, type GenerationTables } from '../schema/read-model.schema';
import type { ParkedRecord } from '../sequencing/stream-sequencer';
import { inTransaction } from './in-transaction';
import { sqlLiteral, type SqlValue } from './sql-literal';

// The parked records of a generation (the per-aggregate dead-letter list): what the operations
// read, and the statement part a batch parks records with.

/** A parked record as listed by `dlq list`. */
export interface ParkedEventInfo {
  id: number;
  streamId: string | null;
  aggregateVersion: number | null;
  eventType: string | null;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  reason: string;
  errorCode: string;
  errorMessage: string;
  attempts: number;
  firstFailedAt: Date;
  parkedAt: Date;
  lastAttemptAt: Date;
  /** The trace the record was published in (its W3C `traceparent` header); null without one. */
  traceId: string | null;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A parked row as stored (what a redrive decodes again). */
export interface ParkedRow {
  id: string;
  stream_id: string | null;
  aggregate_version: string | null;
  source_topic: string;
  source_partition: number;
  source_offset: string;
  message_key: Buffer | null;
  message_value: Buffer | null;
  headers: Record<string, string>;
  reason: string;
  error_code: string;
  error_message: string;
  attempts: number;
  first_failed_at: Date;
  parked_at: Date;
  last_attempt_at: Date;
}

// A stream's parked records are redriven in version order (an event that arrived late after a
// gap goes before the ones it was missing for); records of unknown version keep their place first.
export const STREAM_ORDER = 'aggregate_version NULLS FIRST, id';

const toInfo = (r: ParkedRow): ParkedEventInfo => ({
  id: Number(r.id),
  streamId: r.stream_id,
  aggregateVersion: r.aggregate_version === null ? null : Number(r.aggregate_version),
  eventType: r.headers['eventType'] ?? null,
  sourceTopic: r.source_topic,
  sourcePartition: r.source_partition,
  sourceOffset: r.source_offset,
  reason: r.reason,
  errorCode: r.error_code,
  errorMessage: r.error_message,
  attempts: r.attempts,
  firstFailedAt: r.first_failed_at,
  parkedAt: r.parked_at,
  lastAttemptAt: r.last_attempt_at,
  traceId: TRACEPARENT.exec(r.headers['traceparent'] ?? '')?.[1] ?? null,
});

/** Reads a generation's parked records (`dlq list`, `dlq show`, `status`). */
export class ParkedEvents {
  private readonly t: GenerationTables;

  constructor(
    private readonly pool: Pool,
    generation: number,
  ) {
    this.t = generationTables(generation);
  }

  /** Parked records, oldest first; those of one stream in the order a redrive applies them. */
  async list(options: { streamId?: string; limit?: number } = {}): Promise<ParkedEventInfo[]> {
    const result = await this.pool.query<ParkedRow>(
      `SELECT * FROM ${this.t.parked_events} WHERE ($1::text IS NULL OR stream_id = $1)
        ORDER BY ${options.streamId === undefined ? 'id' : STREAM_ORDER} LIMIT $2`,
      [options.streamId ?? null, options.limit ?? 1000],
    );
    return result.rows.map(toInfo);
  }

  /** One parked record, with its original key, value and headers. */
  async get(
    id: number,
  ): Promise<
    (ParkedEventInfo & { key: Buffer | null; value: Buffer | null; headers: Record<string, string> }) | undefined
  > {
    const result = await this.pool.query<ParkedRow>(`SELECT * FROM ${this.t.parked_events} WHERE id = $1`, [id]);
    const row = result.rows[0];
    return row ? { ...toInfo(row), key: row.message_key, value: row.message_value, headers: row.headers } : undefined;
  }

  /**
   * Discards parked record `id` for good (an operator decided it must never be applied). The
   * records parked behind it in its stream stay parked: the stream applies nothing until they are
   * redriven (or discarded) too. Once nothing of the stream is parked, it is no longer blocked.
   * @returns undefined for an unknown id, else the record's stream and how many of its records remain parked
   */
  async discard(id: number): Promise<{ streamId: string | null; stillParked: number } | undefined> {
    return inTransaction(this.pool, async (client) => {
      const deleted = await client.query<{ stream_id: string | null }>(
        `DELETE FROM ${this.t.parked_events} WHERE id = $1 RETURNING stream_id`,
        [id],
      );
      const row = deleted.rows[0];
      if (!row) return undefined;
      if (row.stream_id === null) return { streamId: null, stillParked: 0 };
      const left = await client.query<{ count: string }>(
        `SELECT count(*) AS count FROM ${this.t.parked_events} WHERE stream_id = $1`,
        [row.stream_id],
      );
      const stillParked = Number(left.rows[0]?.count ?? 0);
      if (stillParked === 0)
        await client.query(`UPDATE ${this.t.stream_checkpoints} SET parked = false WHERE stream_id = $1`, [
          row.stream_id,
        ]);
      return { streamId: row.stream_id, stillParked };
    });
  }

  /** Streams that are parked, in the order they were parked, with what blocks each. */
  async streams(): Promise<
    { streamId: string | null; count: number; headId: number; reason: string; errorCode: string; since: Date }[]
  > {
    const result = await this.pool.query<{
      stream_id: string | null;
      count: string;
      head_id: string;
      reason: string;
      error_code: string;
      since: Date;
    }>(
      `SELECT stream_id, count(*) AS count, (array_agg(id ORDER BY ${STREAM_ORDER}))[1] AS head_id,
              (array_agg(reason ORDER BY ${STREAM_ORDER}))[1] AS reason, (array_agg(error_code ORDER BY ${STREAM_ORDER}))[1] AS error_code,
              min(parked_at) AS since
         FROM ${this.t.parked_events} GROUP BY stream_id ORDER BY min(id)`,
    );
    return result.rows.map((r) => ({
      streamId: r.stream_id,
      count: Number(r.count),
      headId: Number(r.head_id),
      reason: r.reason,
      errorCode: r.error_code,
      since: r.since,
    }));
  }
}

/** The data-modifying CTE that parks `parked` (a batch's `parked AS (…)` part). */
export function parkedInsertPart(
  t: GenerationTables,
  parked: readonly ParkedRecord[],
  options: { attempts?: number; firstFailedAt?: Date },
): string {
  const col = (cast: string, pick: (p: ParkedRecord) => SqlValue) => sqlLiteral(parked.map(pick), cast);
  return `parked AS (INSERT INTO ${t.parked_events} (stream_id, aggregate_version, source_topic, source_partition, source_offset,
      message_key, message_value, headers, reason, error_code, error_message, attempts, first_failed_at)
    SELECT s, v, t, p, o, k, val, h::jsonb, r, c, m, ${sqlLiteral(options.attempts ?? 1, 'int')}, ${sqlLiteral((options.firstFailedAt ?? new Date()).toISOString(), 'timestamptz')}
      FROM unnest(${col('text[]', (p) => p.streamId)}, ${col('bigint[]', (p) => p.version)}, ${col('text[]', (p) => p.source.topic)},
        ${col('int[]', (p) => p.source.partition)}, ${col('bigint[]', (p) => p.source.offset)}, ${col('bytea[]', (p) => p.source.key)},
        ${col('bytea[]', (p) => p.source.value)}, ${col('text[]', (p) => JSON.stringify(p.source.headers))}, ${col('text[]', (p) => p.reason)},
        ${col('text[]', (p) => p.code)}, ${col('text[]', (p) => p.message)}) AS x(s, v, t, p, o, k, val, h, r, c, m)
    ON CONFLICT (source_topic, source_partition, source_offset) DO NOTHING
    RETURNING 1)`;
}
