import type { StoreEvent } from '@cqrs/event-store';
import { evolve, initialState, type Task, type TaskEvent } from '@cqrs/tasks-domain';
import {
  emptyCounts,
  generationTables,
  planBatch,
  stateFromView,
  statsDelta,
  taskProjection,
  taskViewFromRow,
  type GenerationTables,
  type ParkedRecord,
  type SequencedRecord,
  type StatusCounts,
  type TaskViewRow,
} from '@cqrs/tasks-read-model';
import type { Pool, PoolClient } from 'pg';
import { copyRows } from './copy-in';

/** The `source_topic` of a record parked by a store rebuild (it came from no topic). */
export const STORE_SOURCE = 'event-store';

/** One stream as the loader holds it: where it is, and what the tables hold of it. */
interface Stream {
  version: number;
  parked: boolean;
  state: Task;
  /** The state the tables hold (`none`: no task_view row yet). */
  stored: Task;
  /** Whether the tables hold a checkpoint row for it. */
  hasCheckpoint: boolean;
  /** Changed since the last flush. */
  dirty: boolean;
}

const NONE: Task = initialState();

/** What one batch of store events did. */
export interface LoadOutcome {
  applied: number;
  /** Already applied (a resumed read overlapping what was applied). */
  duplicates: number;
  /** Ahead of their stream: left to Kafka, which carries them (see the rebuild's handoff). */
  leftToKafka: number;
  parked: number;
}

/** The rows one flush writes, captured when it was cut (the loader goes on meanwhile). */
export interface FlushSet {
  views: { row: ViewRow; insert: boolean }[];
  checkpoints: { row: { stream_id: string; version: number; parked: boolean }; insert: boolean }[];
  stats: Map<string, StatusCounts>;
  parked: ParkedRecord[];
  streams: number;
}

type ViewRow = Record<(typeof VIEW_COLUMNS)[number], string | number | null>;
const VIEW_COLUMNS = [
  'task_id',
  'owner_id',
  'title',
  'description',
  'due_date',
  'priority',
  'status',
  'created_at',
  'updated_at',
  'started_at',
  'completed_at',
  'abandoned_at',
  'abandon_reason',
  'deleted_at',
  'version',
] as const;

const EMPTY_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Loads one generation from the event store, fast: the fresh generation is read by nobody until
 * it is activated, so instead of a transaction per batch (the live writer) it folds the store's
 * events in memory with the projector's own rules (`planBatch` and the domain's `evolve`: the
 * same versions, duplicates, gaps and parking) and writes each stream's resulting row once per
 * flush, a flush being a few large statements in one transaction. The rows, checkpoints and
 * statistics are what the live writer would have written for the same events.
 *
 * Streams stay in memory after a flush (a later event of theirs needs their state) up to
 * `maxStreams`; beyond that the flushed ones are dropped and read back from the tables when
 * they show up again, as they are after a resume.
 */
export class GenerationLoader {
  private readonly t: GenerationTables;
  private readonly streams = new Map<string, Stream>();
  private dirty: string[] = [];
  private parked: ParkedRecord[] = [];
  /** Whether the tables may hold streams that are not in memory (a resume, or after dropping some). */
  private tablesMayHold: boolean;
  private readonly maxStreams: number;

  constructor(
    private readonly pool: Pool,
    readonly generation: number,
    options: { resumed?: boolean; maxStreams?: number } = {},
  ) {
    this.t = generationTables(generation);
    this.tablesMayHold = options.resumed ?? false;
    this.maxStreams = options.maxStreams ?? 1_000_000;
  }

  /** Streams changed since the last flush. */
  get pendingStreams(): number {
    return this.dirty.length;
  }

  /**
   * Applies a batch of store events (in `global_position` order) to the streams in memory.
   *
   * The common case (the next version of a stream that is not parked) is folded directly with
   * the domain's `evolve`, which is what `planBatch` does for it; any other event (a duplicate, a
   * gap, an event the chain could not lift, one `evolve` refuses, one of a parked stream) goes
   * through `planBatch` itself, so every rule stays the live projector's.
   */
  async apply(events: readonly StoreEvent[]): Promise<LoadOutcome> {
    const outcome: LoadOutcome = { applied: 0, duplicates: 0, leftToKafka: 0, parked: 0 };
    if (events.length === 0) return outcome;
    if (this.tablesMayHold) await this.readMissing(events);
    const { streams } = this;
    for (const e of events) {
      let s = streams.get(e.streamId);
      if (!s) {
        s = { version: 0, parked: false, state: NONE, stored: NONE, hasCheckpoint: false, dirty: false };
        streams.set(e.streamId, s);
      }
      if (!e.upcastError && !s.parked && e.version === s.version + 1) {
        let after: Task | undefined;
        try {
          // A store event is a domain event: its type and (upcast) data.
          after = evolve(s.state, e as unknown as TaskEvent);
        } catch {
          after = undefined; // planBatch parks it, with the reason
        }
        if (after) {
          s.state = after;
          s.version = e.version;
          this.touch(e.streamId, s);
          outcome.applied++;
          continue;
        }
      }
      this.applyByPlan(e, s, outcome);
    }
    return outcome;
  }

  /** One event through the sequencer's own rules (duplicates, gaps, parking). */
  private applyByPlan(e: StoreEvent, s: Stream, outcome: LoadOutcome): void {
    const plan = planBatch(
      [toRecord(e)],
      new Map([[e.streamId, { version: s.version, parked: s.parked }]]),
      new Map([[e.streamId, s.state]]),
      taskProjection,
    );
    const checkpoint = plan.checkpoints.get(e.streamId);
    if (checkpoint) {
      s.version = checkpoint.version;
      s.parked = checkpoint.parked;
      this.touch(e.streamId, s);
    }
    const change = plan.changes.get(e.streamId);
    if (change) s.state = change.after;
    for (const p of plan.parked) this.parked.push({ ...p, source: parkedSource(e, p.source) });
    outcome.applied += plan.applied.length;
    outcome.duplicates += plan.duplicates.length;
    // Ahead of its stream: only after a resume (a new snapshot), when the versions before it were
    // committed after the first snapshot, hence published after the noted offsets: Kafka has them all.
    outcome.leftToKafka += plan.gaps.length;
    outcome.parked += plan.parked.length;
  }

  private touch(streamId: string, s: Stream): void {
    if (s.dirty) return;
    s.dirty = true;
    this.dirty.push(streamId);
  }

  /** Reads back the streams of `events` that are not in memory but may be in the tables. */
  private async readMissing(events: readonly StoreEvent[]): Promise<void> {
    const missing = [...new Set(events.map((e) => e.streamId))].filter((id) => !this.streams.has(id));
    if (missing.length === 0) return;
    for (const [streamId, s] of await this.read(missing)) this.streams.set(streamId, s);
  }

  /**
   * Cuts what changed since the last flush into a {@link FlushSet} and counts it as written
   * (write it with {@link write}; the loader may go on applying meanwhile).
   */
  cut(): FlushSet {
    const set: FlushSet = {
      views: [],
      checkpoints: [],
      stats: new Map(),
      parked: this.parked,
      streams: this.dirty.length,
    };
    for (const streamId of this.dirty) {
      const s = this.streams.get(streamId)!;
      set.checkpoints.push({
        row: { stream_id: streamId, version: s.version, parked: s.parked },
        insert: !s.hasCheckpoint,
      });
      if (s.state !== s.stored && s.state.status !== 'none') {
        set.views.push({ row: viewRow(s.state, s.version), insert: s.stored.status === 'none' });
        statsDelta(s.stored, s.state, set.stats);
      }
      s.stored = s.state;
      s.hasCheckpoint = true;
      s.dirty = false;
    }
    this.dirty = [];
    this.parked = [];
    if (this.streams.size > this.maxStreams) {
      // Everything in memory is flushed (clean) now: let it go, and read streams back when needed.
      this.streams.clear();
      this.tablesMayHold = true;
    }
    return set;
  }

  /**
   * Writes a flush set with `client` (inside the caller's transaction): new rows with COPY (nobody
   * else writes a generation being built), changed ones as updates, statistics as deltas.
   */
  async write(client: PoolClient, set: FlushSet): Promise<void> {
    const { t } = this;
    const inserts = set.views.filter((v) => v.insert).map((v) => v.row);
    const updates = set.views.filter((v) => !v.insert).map((v) => v.row);
    if (inserts.length > 0) {
      await copyRows(
        client,
        t.task_view,
        VIEW_COLUMNS,
        inserts.map((row) => VIEW_COLUMNS.map((c) => row[c])),
      );
    }
    if (updates.length > 0) {
      const set_ = VIEW_COLUMNS.filter((c) => c !== 'task_id')
        .map((c) => `${c} = EXCLUDED.${c}`)
        .join(', ');
      await client.query(
        `INSERT INTO ${t.task_view} SELECT * FROM json_populate_recordset(NULL::${t.task_view}, $1::json) ON CONFLICT (task_id) DO UPDATE SET ${set_}`,
        [JSON.stringify(updates)],
      );
    }
    const newCheckpoints = set.checkpoints.filter((c) => c.insert).map((c) => c.row);
    const movedCheckpoints = set.checkpoints.filter((c) => !c.insert).map((c) => c.row);
    if (newCheckpoints.length > 0) {
      await copyRows(
        client,
        t.stream_checkpoints,
        ['stream_id', 'version', 'parked'],
        newCheckpoints.map((c) => [c.stream_id, c.version, c.parked]),
      );
    }
    if (movedCheckpoints.length > 0) {
      await client.query(
        `UPDATE ${t.stream_checkpoints} AS c SET version = x.version, parked = x.parked
           FROM json_populate_recordset(NULL::${t.stream_checkpoints}, $1::json) AS x WHERE c.stream_id = x.stream_id`,
        [JSON.stringify(movedCheckpoints)],
      );
    }
    const owners = [...set.stats.keys()].sort();
    if (owners.length > 0) {
      const rows = owners.map((owner) => {
        const c = set.stats.get(owner) ?? emptyCounts();
        return {
          owner_id: owner,
          open_count: c.open,
          started_count: c.started,
          completed_count: c.completed,
          abandoned_count: c.abandoned,
          deleted_count: c.deleted,
        };
      });
      await client.query(
        `INSERT INTO ${t.user_task_stats} AS s SELECT * FROM json_populate_recordset(NULL::${t.user_task_stats}, $1::json) ORDER BY owner_id
         ON CONFLICT (owner_id) DO UPDATE SET open_count = s.open_count + EXCLUDED.open_count,
           started_count = s.started_count + EXCLUDED.started_count, completed_count = s.completed_count + EXCLUDED.completed_count,
           abandoned_count = s.abandoned_count + EXCLUDED.abandoned_count, deleted_count = s.deleted_count + EXCLUDED.deleted_count`,
        [JSON.stringify(rows)],
      );
    }
    if (set.parked.length > 0) {
      const failedAt = new Date().toISOString();
      const rows = set.parked.map((p) => ({
        stream_id: p.streamId,
        aggregate_version: p.version,
        source_topic: p.source.topic,
        source_partition: p.source.partition,
        source_offset: p.source.offset,
        message_key: p.source.key === null ? null : `\\x${p.source.key.toString('hex')}`,
        message_value: p.source.value === null ? null : `\\x${p.source.value.toString('hex')}`,
        headers: p.source.headers,
        reason: p.reason,
        error_code: p.code,
        error_message: p.message,
        attempts: 1,
        first_failed_at: failedAt,
      }));
      await client.query(
        `INSERT INTO ${t.parked_events} (stream_id, aggregate_version, source_topic, source_partition, source_offset, message_key, message_value,
           headers, reason, error_code, error_message, attempts, first_failed_at)
         SELECT stream_id, aggregate_version, source_topic, source_partition, source_offset, message_key, message_value,
           headers, reason, error_code, error_message, attempts, first_failed_at
           FROM json_to_recordset($1::json) AS x(stream_id text, aggregate_version bigint, source_topic text, source_partition int, source_offset bigint,
             message_key bytea, message_value bytea, headers jsonb, reason text, error_code text, error_message text, attempts int, first_failed_at timestamptz)
         ON CONFLICT (source_topic, source_partition, source_offset) DO NOTHING`,
        [JSON.stringify(rows)],
      );
    }
  }

  /** The streams' checkpoints and views as the tables hold them (those the tables have). */
  private async read(streamIds: string[]): Promise<Map<string, Stream>> {
    const { t } = this;
    const found = new Map<string, Stream>();
    const result = await this.pool.query<TaskViewRow & { cp_stream: string; cp_version: string; cp_parked: boolean }>(
      `SELECT c.stream_id AS cp_stream, c.version AS cp_version, c.parked AS cp_parked, v.*
         FROM ${t.stream_checkpoints} c LEFT JOIN ${t.task_view} v ON v.task_id = c.stream_id
        WHERE c.stream_id = ANY($1::text[])`,
      [streamIds],
    );
    for (const r of result.rows) {
      const state = r.task_id === null ? initialState() : stateFromView(taskViewFromRow(r));
      found.set(r.cp_stream, {
        version: Number(r.cp_version),
        parked: r.cp_parked,
        state,
        stored: state,
        hasCheckpoint: true,
        dirty: false,
      });
    }
    return found;
  }
}

/** A store event as the sequencer takes it (its position stands in for an offset). */
function toRecord(e: StoreEvent): SequencedRecord<TaskEvent> {
  const source = {
    topic: STORE_SOURCE,
    partition: 0,
    offset: String(e.globalPosition),
    key: null,
    value: null,
    headers: EMPTY_HEADERS,
  };
  if (e.upcastError) {
    return {
      source,
      decoded: {
        ok: false,
        streamId: e.streamId,
        version: e.version,
        reason: 'UNDECODABLE',
        code: e.upcastError.code,
        message: e.upcastError.message,
      },
    };
  }
  return {
    source,
    decoded: { ok: true, streamId: e.streamId, version: e.version, event: { type: e.type, data: e.data } as TaskEvent },
  };
}

/** A parked store event's record: its stream as the key, the stored event (JSON) as the value. */
function parkedSource(e: StoreEvent | undefined, source: ParkedRecord['source']): ParkedRecord['source'] {
  if (!e) return source;
  return {
    ...source,
    key: Buffer.from(e.streamId),
    value: Buffer.from(JSON.stringify({ type: e.type, schemaVersion: e.schemaVersion, data: e.data })),
    headers: {
      eventType: e.type,
      aggregateVersion: String(e.version),
      source: STORE_SOURCE,
      globalPosition: String(e.globalPosition),
    },
  };
}

/** The task_view row of a stream's state, as the live writer writes it. */
function viewRow(task: Task, version: number): ViewRow {
  if (task.status === 'none') throw new Error('a stream without a task has no view');
  return {
    task_id: task.taskId,
    owner_id: task.ownerId,
    title: task.title,
    description: task.description,
    due_date: task.dueDate,
    priority: task.priority,
    status: task.status,
    created_at: task.createdAt,
    updated_at: task.updatedAt,
    started_at: task.startedAt,
    completed_at: task.completedAt,
    abandoned_at: task.abandonedAt,
    abandon_reason: task.abandonReason,
    deleted_at: task.deletedAt,
    version,
  };
}
