import type { AvroSerde, EventContract } from '@cqrs/messaging';
import type { BatchHandler, ConsumerLogger, DeadLetter, DeadLetterPublisher } from '@cqrs/messaging/consumer';
import { contextFromCarrier, cqrsMetric, recordError, SpanKind, startSpan, type Span } from '@cqrs/observability';
import type { Pool } from 'pg';
import {
  decodeProjectedRecord,
  PoisonEventError,
  type DecodedRecord,
  type ProjectedEvent,
  type RecordSource,
} from './projected-event';
import { sqlIdentifier, type Queryable } from './read-database';
import { encodeStreamChanges } from './stream-changes';

const processed = cqrsMetric('cqrs_events_processed_total');
const processing = cqrsMetric('cqrs_event_processing_duration_seconds');
const duplicates = cqrsMetric('cqrs_duplicate_events_total');

/** What a projection is: its records, its checkpoints, and how one event changes its tables. */
export interface StreamProjectionDefinition {
  /** Unique among the projector's projections: its consumer group, checkpoint rows and metrics carry it. */
  name: string;
  topics: readonly string[];
  /** Contracts of the topics' events (a contracts lib's `…Contracts`): the reader schemas. */
  contracts: readonly EventContract[];
  /** Checkpoint table, created by the context's migrations with `checkpointTableSql`. */
  checkpointTable: string;
  /** The tables only this projection writes: a reset empties them before it replays the topics. */
  tables?: readonly string[];
  /**
   * NOTIFY channel on which each committed batch announces its streams' new versions
   * (`encodeStreamChanges`), for the query side's caches and read-your-writes waits.
   */
  notifyChannel?: string;
  /**
   * Applies one event inside the batch's transaction, in stream order and exactly once per
   * (stream, version). Events of types it does not know it ignores. Throwing a
   * {@link PoisonEventError} parks the event; any other error retries the batch.
   */
  apply(tx: Queryable, event: ProjectedEvent): Promise<void>;
}

/** Why an event was not applied; the dead letter's `dlq-reason`. */
export type ParkReason = 'UNDECODABLE' | 'REJECTED' | 'GAP' | 'PARKED_BEHIND';

export interface BatchOutcome {
  applied: ProjectedEvent[];
  duplicates: ProjectedEvent[];
  parked: {
    source: RecordSource;
    streamId: string | null;
    version: number | null;
    reason: ParkReason;
    code: string;
    message: string;
  }[];
}

/** A record's place in Kafka, as one string. */
const positionKey = (s: RecordSource) => `${s.topic}/${s.partition}/${s.offset}`;

/** A batch whose events are ahead of their streams: retried, since the missing event may still come. */
export class StreamGapError extends Error {
  override readonly name = 'StreamGapError';
}

export interface StreamBatchOptions {
  definition: StreamProjectionDefinition;
  pool: Pool;
  serde: AvroSerde;
  dlq: Pick<DeadLetterPublisher, 'publish'>;
  /** Attempts at a batch with a gap before the gap is parked. */
  gapRetries: number;
  logger: ConsumerLogger;
}

/**
 * The batch handler of a stream projection: decode, then in one transaction lock the streams'
 * checkpoints and apply each event whose version is the next of its stream; skip redeliveries
 * (at or below the checkpoint); park poison, rejected events and gaps that retries did not close,
 * and every later event of a stream that has a parked one. Dead letters are published before the
 * transaction commits, and the consumer commits offsets only after this resolves, so an event is
 * applied once, parked on the DLQ, or still ahead: never lost, never out of order.
 */
export function streamBatchHandler(options: StreamBatchOptions): BatchHandler {
  const { definition, pool } = options;
  const checkpoints = sqlIdentifier(definition.checkpointTable);
  return async (records, { attempt, firstFailedAt }) => {
    const started = performance.now();
    if (records.length === 0) return;
    const decoded = await Promise.all(records.map((r) => decodeProjectedRecord(options.serde, r)));
    // Sorted: two transactions lock shared streams in one order, so they wait instead of deadlocking.
    const streams = [
      ...new Set(decoded.flatMap((d) => (d.ok ? [d.event.streamId] : d.streamId ? [d.streamId] : []))),
    ].sort();
    const spans = decoded.map((d, i) => eventSpan(d, records[i]?.headers ?? {}, definition.name));
    const client = await pool.connect();
    let outcome: BatchOutcome;
    try {
      await client.query('BEGIN');
      // Every stream gets a row, then its row is locked: FOR UPDATE returns the row as the
      // transaction that held it committed it (read committed re-reads after a lock wait), and
      // apply's later statements take fresh snapshots, so a hand-off never applies on stale rows.
      await client.query(
        `INSERT INTO ${checkpoints} (projection, stream_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
        [definition.name, streams],
      );
      const { rows } = await client.query<{ stream_id: string; version: number; parked_version: number | null }>(
        `SELECT stream_id, version, parked_version FROM ${checkpoints}
          WHERE projection = $1 AND stream_id = ANY($2) ORDER BY stream_id FOR UPDATE`,
        [definition.name, streams],
      );
      const state = new Map(rows.map((r) => [r.stream_id, { version: r.version, parked: r.parked_version }]));
      outcome = { applied: [], duplicates: [], parked: [] };
      const park = (
        d: { source: RecordSource; streamId: string | null; version: number | null },
        reason: ParkReason,
        code: string,
        message: string,
      ) => {
        outcome.parked.push({ ...d, reason, code, message });
        const s = d.streamId === null ? undefined : state.get(d.streamId);
        if (s && d.version !== null && s.parked === null) s.parked = d.version;
      };
      for (const d of decoded) {
        if (!d.ok) {
          park(d, 'UNDECODABLE', d.code, d.message);
          continue;
        }
        const { event } = d;
        const s = state.get(event.streamId);
        if (!s) throw new Error(`no checkpoint row for stream ${event.streamId}`); // locked above
        if (event.version <= s.version) {
          outcome.duplicates.push(event);
          continue;
        }
        // Behind a parked event: a later one waits for it (on the DLQ); an earlier one that arrives
        // late is still applied below, in order.
        if (s.parked !== null && event.version >= s.parked) {
          park(
            event,
            'PARKED_BEHIND',
            'PARKED_BEHIND',
            `an earlier event of stream ${event.streamId} (version ${s.parked}) is parked`,
          );
          continue;
        }
        if (event.version > s.version + 1) {
          if (attempt <= options.gapRetries)
            throw new StreamGapError(`stream ${event.streamId}: version ${event.version} after ${s.version}`);
          park(
            event,
            'GAP',
            'GAP',
            `version ${event.version} came after ${s.version}: versions in between never arrived`,
          );
          continue;
        }
        // A savepoint per event: a rejected event leaves none of its writes behind.
        await client.query('SAVEPOINT apply_event');
        try {
          await definition.apply(client, event);
          await client.query('RELEASE SAVEPOINT apply_event');
        } catch (error) {
          if (!(error instanceof PoisonEventError)) throw error;
          await client.query('ROLLBACK TO SAVEPOINT apply_event');
          park(event, 'REJECTED', error.code, error.message);
          continue;
        }
        s.version = event.version;
        outcome.applied.push(event);
      }
      const changed = [...state].map(([id, s]) => ({ id, ...s }));
      await client.query(
        `UPDATE ${checkpoints} c SET version = u.version, parked_version = u.parked, updated_at = now()
           FROM unnest($2::text[], $3::int[], $4::int[]) AS u(stream_id, version, parked)
          WHERE c.projection = $1 AND c.stream_id = u.stream_id`,
        [definition.name, changed.map((c) => c.id), changed.map((c) => c.version), changed.map((c) => c.parked)],
      );
      if (definition.notifyChannel && outcome.applied.length > 0) {
        const latest = new Map(outcome.applied.map((e) => [e.streamId, e.version]));
        await client.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [
          definition.notifyChannel,
          encodeStreamChanges([...latest].map(([streamId, version]) => ({ streamId, version }))),
        ]);
      }
      const failedAt = firstFailedAt ?? new Date();
      const byPosition = new Map(records.map((r) => [positionKey(r), r]));
      await options.dlq.publish(
        outcome.parked.map((p): DeadLetter => {
          const record = byPosition.get(positionKey(p.source));
          if (!record) throw new Error(`parked record ${p.source.offset} is not in the batch`);
          return {
            record,
            reason: p.reason,
            errorCode: p.code,
            errorMessage: `${definition.name}: ${p.message}`,
            attempts: attempt,
            firstFailedAt: failedAt,
          };
        }),
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      for (const span of spans) {
        if (!span) continue;
        recordError(span, error);
        span.end();
      }
      throw error;
    } finally {
      client.release();
    }
    report(options, outcome, decoded, spans, (performance.now() - started) / 1000);
  };
}

function report(
  options: StreamBatchOptions,
  outcome: BatchOutcome,
  decoded: DecodedRecord[],
  spans: (Span | undefined)[],
  seconds: number,
) {
  const status = new Map<string, string>();
  for (const e of outcome.applied) status.set(positionKey(e.source), 'applied');
  for (const e of outcome.duplicates) status.set(positionKey(e.source), 'duplicate');
  for (const p of outcome.parked) status.set(positionKey(p.source), 'parked');
  decoded.forEach((d, i) => {
    const type = d.ok ? d.event.type : 'unknown';
    const result = status.get(positionKey(d.source)) ?? 'parked';
    processed.inc({ projection: options.definition.name, type, status: result });
    processing.observe({ type }, seconds);
    const span = spans[i];
    if (span) {
      span.setAttribute('cqrs.event.outcome', result);
      span.end();
    }
  });
  if (outcome.duplicates.length > 0) duplicates.inc({ projection: options.definition.name }, outcome.duplicates.length);
  for (const p of outcome.parked)
    options.logger.warn(
      {
        projection: options.definition.name,
        stream_id: p.streamId,
        version: p.version,
        reason: p.reason,
        error_code: p.code,
        ...p.source,
      },
      `event parked: ${p.message}`,
    );
}

/** An `event.<Type>` span continuing the trace the record's headers carry; none for an untraced record. */
function eventSpan(d: DecodedRecord, headers: Record<string, string>, projection: string): Span | undefined {
  const { traceparent, tracestate } = headers;
  if (!traceparent) return undefined;
  const type = d.ok ? d.event.type : (headers['eventType'] ?? 'unknown');
  return startSpan(`event.${type}`, {
    kind: SpanKind.CONSUMER,
    parent: contextFromCarrier({ traceparent, tracestate }),
    attributes: {
      'messaging.system': 'kafka',
      'messaging.destination.name': d.source.topic,
      'messaging.kafka.destination.partition': d.source.partition,
      'messaging.kafka.message.offset': Number(d.source.offset),
      'cqrs.event.type': type,
      // several projections may follow one event (another context's too): each span says whose
      'cqrs.projection': projection,
      ...(d.ok ? { 'cqrs.stream.id': d.event.streamId, 'cqrs.event.version': d.event.version } : {}),
    },
  });
}
