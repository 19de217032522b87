import { APPEND_BATCH_FUNCTION, APPEND_FUNCTION } from '../migrations';
import type { Statement } from '../sql';

// The whole append (events, outbox rows and their deletion, a due snapshot) is one call of the
// function the migrations create: one round trip, atomic on its own (see its migrations).
export const APPEND: Statement = {
  name: 'cqrs_es_append_v2',
  text: `SELECT global_position, version FROM ${APPEND_FUNCTION}($1, $2, $3, $4::jsonb, $5::uuid[], $6::text[], $7::int[], $8::jsonb[], $9::bytea[], $10, $11, $12, $13, $14, $15, $16, $17::jsonb)`,
};
export const APPEND_BATCH: Statement = {
  name: 'cqrs_es_append_batch_v1',
  text: `SELECT append_index, global_positions, error_code, error_message, error_constraint FROM ${APPEND_BATCH_FUNCTION}(
    $1::text[], $2::text[], $3::bigint[], $4::jsonb[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
    $11::int[], $12::jsonb[], $13::uuid[], $14::text[], $15::int[], $16::jsonb[], $17::bytea[], $18)`,
};
/** Keep group-commit batches under PostgreSQL's 64 cached subtransactions (see the batch function's migration). */
export const MAX_APPEND_BATCH = 60;
/** Two writers that passed the guard together collide on this constraint. */
export const STREAM_VERSION_KEY = 'events_stream_id_version_key';

/** One append's arguments, as the append functions take them. */
export interface AppendCall {
  streamId: string;
  streamType: string;
  expectedVersion: number;
  /** JSON */
  metadata: string;
  eventIds: string[];
  types: string[];
  schemaVersions: number[];
  /** JSON, one per event */
  data: string[];
  /** null: no outbox rows */
  payloads: Buffer[] | null;
  aggregateType: string | null;
  aggregateId: string;
  traceparent: string | null;
  tracestate: string | null;
  correlationId: string | null;
  snapshotSchemaVersion: number | null;
  /** JSON; null when no snapshot is due */
  snapshotState: string | null;
}

/** {@link APPEND}'s parameters. */
export const appendParams = (c: AppendCall, deleteOutbox: boolean): unknown[] => [
  c.streamId,
  c.streamType,
  c.expectedVersion,
  c.metadata,
  c.eventIds,
  c.types,
  c.schemaVersions,
  c.data,
  c.payloads,
  c.aggregateType,
  c.aggregateId,
  c.traceparent,
  c.tracestate,
  c.correlationId,
  deleteOutbox,
  c.snapshotSchemaVersion,
  c.snapshotState,
];

/** {@link APPEND_BATCH}'s parameters: one array element per append, or per event for the event columns. */
export const appendBatchParams = (calls: AppendCall[], deleteOutbox: boolean): unknown[] => {
  const each = <T>(field: (c: AppendCall) => T) => calls.map(field);
  const perEvent = (field: (c: AppendCall) => readonly unknown[] | null): unknown[] =>
    calls.flatMap((c) => field(c) ?? Array<null>(c.eventIds.length).fill(null));
  return [
    each((c) => c.streamId),
    each((c) => c.streamType),
    each((c) => c.expectedVersion),
    each((c) => c.metadata),
    each((c) => c.eventIds.length),
    each((c) => c.aggregateType),
    each((c) => c.aggregateId),
    each((c) => c.traceparent),
    each((c) => c.tracestate),
    each((c) => c.correlationId),
    each((c) => c.snapshotSchemaVersion),
    each((c) => c.snapshotState),
    perEvent((c) => c.eventIds),
    perEvent((c) => c.types),
    perEvent((c) => c.schemaVersions),
    perEvent((c) => c.data),
    perEvent((c) => c.payloads),
    deleteOutbox,
  ];
};

/** An append the database rolled back for a reason other than a lost race (e.g. a trigger raised). */
export class AppendFailedError extends Error {
  constructor(
    message: string,
    /** SQLSTATE, e.g. `P0001` for a RAISE EXCEPTION. */
    readonly code: string,
    readonly constraint?: string,
  ) {
    super(message);
    this.name = 'AppendFailedError';
  }
}
