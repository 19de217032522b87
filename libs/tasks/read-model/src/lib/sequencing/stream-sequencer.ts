/**
 * The exactly-once and ordering rules of the projector, as a pure function over one batch:
 * an event is applied only when it is the next version of its stream; an older version is a
 * duplicate; a newer one is a gap; an event that cannot be decoded or applied is poison and
 * parks its stream, and every later event of a parked stream is parked behind it. No I/O here,
 * so every rule is unit-tested; the Postgres store executes the plan in one transaction.
 */

/** Why a record was parked instead of applied. */
export type ParkReason =
  /** The bytes are not a valid event (bad magic byte, corrupt Avro, wrong shape). */
  | 'UNDECODABLE'
  /** The value names a schema id the registry does not know. */
  | 'UNKNOWN_SCHEMA'
  /** The event decodes but breaks a rule of the stream (e.g. TaskStarted before TaskCreated, key ≠ aggregate id). */
  | 'INVARIANT_VIOLATED'
  /** The event is ahead of its stream (an earlier version is missing) and stayed so through the retries. */
  | 'GAP'
  /** An earlier event of the same stream is parked; this one waits behind it. */
  | 'PARKED_BEHIND'
  /** The record has no key, so it belongs to no stream. */
  | 'NO_KEY';

/** Where a record came from; kept whole so a parked record can be redriven or inspected. */
export interface SourceRecord {
  topic: string;
  partition: number;
  /** Kafka offset (a decimal string, as Kafka clients carry it). */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** A decoded event of one stream. */
export interface DecodedStreamEvent<E> {
  ok: true;
  streamId: string;
  version: number;
  event: E;
}

/** A record that could not be decoded, for a reason that retrying will not change. */
export interface PoisonRecord {
  ok: false;
  /** The stream it belongs to (the record key), if it has one. */
  streamId: string | null;
  /** The aggregate version, when known from the headers. */
  version: number | null;
  reason: ParkReason;
  /** Stable error code (from the serde or the projection), e.g. `SCHEMA_NOT_FOUND`. */
  code: string;
  message: string;
}

export interface SequencedRecord<E> {
  source: SourceRecord;
  decoded: DecodedStreamEvent<E> | PoisonRecord;
}

/** What the read model holds for one stream before the batch. */
export interface Checkpoint {
  version: number;
  parked: boolean;
}

export interface ParkedRecord {
  source: SourceRecord;
  streamId: string | null;
  version: number | null;
  reason: ParkReason;
  code: string;
  message: string;
}

/** One stream's change: its state before the batch and after the events applied to it. */
export interface StreamChange<S> {
  streamId: string;
  before: S;
  after: S;
  fromVersion: number;
  toVersion: number;
  /** How many events were applied. */
  applied: number;
}

export interface BatchPlan<S, E = unknown> {
  changes: Map<string, StreamChange<S>>;
  /** Checkpoints to write, with the version each had when read (0 for a new stream). */
  checkpoints: Map<string, { expectedVersion: number; version: number; parked: boolean }>;
  duplicates: SequencedRecord<E>[];
  parked: ParkedRecord[];
  /** Records ahead of their stream; only when `parkGaps` is false (the caller retries the batch). */
  gaps: SequencedRecord<E>[];
  /** Records applied, in order (for metrics, tracing and the redrive report). */
  applied: SequencedRecord<E>[];
}

export interface StreamProjection<S, E> {
  /** State of a stream with no events. */
  initial(): S;
  /** Applies one event; throws when the event cannot follow the state (an invariant). */
  apply(state: S, event: E): S;
}

export interface PlanOptions {
  /** Park records that are ahead of their stream instead of reporting them as gaps. @default false */
  parkGaps?: boolean;
  /** Streams to treat as not parked (a redrive releases its streams this way). */
  unpark?: ReadonlySet<string>;
}

/**
 * Plans a batch: `records` in consumption order, the current checkpoint and state of every
 * stream they touch (missing = new stream). Pure and deterministic.
 */
export function planBatch<S, E>(
  records: readonly SequencedRecord<E>[],
  checkpoints: ReadonlyMap<string, Checkpoint>,
  states: ReadonlyMap<string, S>,
  projection: StreamProjection<S, E>,
  options: PlanOptions = {},
): BatchPlan<S, E> {
  const plan: BatchPlan<S, E> = {
    changes: new Map(),
    checkpoints: new Map(),
    duplicates: [],
    parked: [],
    gaps: [],
    applied: [],
  };
  // Working copy per stream: version and parked flag as the batch goes.
  const current = new Map<string, Checkpoint & { expectedVersion: number; touched: boolean }>();
  const cursor = (streamId: string) => {
    let c = current.get(streamId);
    if (!c) {
      const stored = checkpoints.get(streamId) ?? { version: 0, parked: false };
      c = {
        version: stored.version,
        parked: stored.parked && !options.unpark?.has(streamId),
        expectedVersion: stored.version,
        touched: options.unpark?.has(streamId) ?? false,
      };
      current.set(streamId, c);
    }
    return c;
  };
  const park = (
    record: SequencedRecord<E>,
    streamId: string | null,
    version: number | null,
    reason: ParkReason,
    code: string,
    message: string,
  ) => {
    plan.parked.push({ source: record.source, streamId, version, reason, code, message });
    if (streamId === null) return;
    const c = cursor(streamId);
    c.parked = true;
    c.touched = true;
  };

  for (const record of inVersionOrder(records)) {
    const d = record.decoded;
    if (d.streamId === null) {
      // Parked alone, with the decoder's verdict: it belongs to no stream (no key, or a key that is no stream id).
      if (d.ok) park(record, null, d.version, 'NO_KEY', 'NO_KEY', 'the record has no key, so it belongs to no stream');
      else park(record, null, d.version, d.reason, d.code, d.message);
      continue;
    }
    const c = cursor(d.streamId);
    const version = d.ok ? d.version : d.version;
    if (c.parked) {
      park(
        record,
        d.streamId,
        version,
        'PARKED_BEHIND',
        'PARKED_BEHIND',
        `stream ${d.streamId} is parked behind an earlier event`,
      );
      continue;
    }
    if (!d.ok) {
      park(record, d.streamId, version, d.reason, d.code, d.message);
      continue;
    }
    if (d.version <= c.version) {
      plan.duplicates.push(record);
      continue;
    }
    if (d.version > c.version + 1) {
      if (options.parkGaps) {
        park(
          record,
          d.streamId,
          d.version,
          'GAP',
          'VERSION_GAP',
          `version ${d.version} of ${d.streamId} arrived but the read model is at ${c.version}`,
        );
      } else {
        plan.gaps.push(record);
      }
      continue;
    }
    const change = plan.changes.get(d.streamId);
    const before = change ? change.after : (states.get(d.streamId) ?? projection.initial());
    let after: S;
    try {
      after = projection.apply(before, d.event);
    } catch (error) {
      park(
        record,
        d.streamId,
        d.version,
        'INVARIANT_VIOLATED',
        'INVARIANT_VIOLATED',
        error instanceof Error ? error.message : String(error),
      );
      continue;
    }
    plan.changes.set(d.streamId, {
      streamId: d.streamId,
      before: change ? change.before : before,
      after,
      fromVersion: change ? change.fromVersion : c.version,
      toVersion: d.version,
      applied: (change?.applied ?? 0) + 1,
    });
    c.version = d.version;
    c.touched = true;
    plan.applied.push(record);
  }
  for (const [streamId, c] of current) {
    if (c.touched)
      plan.checkpoints.set(streamId, { expectedVersion: c.expectedVersion, version: c.version, parked: c.parked });
  }
  return plan;
}

/**
 * The records with each stream's records put in version order (in the slots that stream's
 * records occupied, so streams stay interleaved as they arrived): an event that overtook an
 * earlier one within the batch is then not a gap. A stream with a record of unknown version is
 * left as it arrived, since where that record belongs cannot be told.
 */
function inVersionOrder<E>(records: readonly SequencedRecord<E>[]): readonly SequencedRecord<E>[] {
  const byStream = new Map<string, { slots: number[]; records: SequencedRecord<E>[] }>();
  records.forEach((record, slot) => {
    const id = record.decoded.streamId;
    if (id === null) return;
    const group = byStream.get(id) ?? { slots: [], records: [] };
    group.slots.push(slot);
    group.records.push(record);
    byStream.set(id, group);
  });
  let ordered: SequencedRecord<E>[] | undefined;
  for (const group of byStream.values()) {
    const versions = group.records.map((r) => r.decoded.version);
    if (versions.length < 2 || versions.some((v) => v === null)) continue;
    const known = versions as number[];
    if (known.every((v, k) => k === 0 || v >= (known[k - 1] ?? v))) continue;
    ordered ??= [...records];
    const sorted = [...group.records].sort((a, b) => (a.decoded.version ?? 0) - (b.decoded.version ?? 0));
    group.slots.forEach((slot, k) => {
      const record = sorted[k];
      if (ordered && record) ordered[slot] = record;
    });
  }
  return ordered ?? records;
}
