import type { Task } from '@cqrs/tasks-domain';
import { emptyCounts, stateFromView, type StatusCounts, type TaskView } from '@cqrs/tasks-read-model';
import { missingVersions, type KafkaStream } from './kafka-streams';
import { readModelVersion, type ReadModelStream } from './read-model-side';
import type { StreamFold } from './stream-fold';

/**
 * What can differ. The read model's (`--repair` rewrites them from the store):
 * - `MISMATCH`: a field of a task row differs from the replay at the row's version;
 * - `MISSING`: the store has the stream, the read model has no row for it;
 * - `CHECKPOINT`: a row without its checkpoint (the projector would apply its events again);
 * - `BEHIND`: the read model is still behind the store after the settle period;
 * - `AHEAD`: the read model reflects versions the store does not have;
 * - `ORPHAN`: a row, checkpoint or parked record of a stream the store does not have;
 * - `PARKED`: the stream has parked records (the projector stopped applying it);
 * - `STATS`: a user's statistics differ from the replayed rows' statuses.
 *
 * Kafka's (only the publisher can mend them; the read model is repaired from the store anyway):
 * - `NOT_PUBLISHED`: the store has versions the topic does not, after the settle period;
 * - `PHANTOM`: the topic has versions (or a stream) the store does not have;
 * - `KAFKA_GAP`: versions missing on the topic between versions it has (retention aside);
 * - `EVENT_ID`: the same versions carry other event ids on the topic than in the store.
 *
 * The store's: `STORE_INVALID`, a stream that cannot be folded (a missing version, an event
 * that does not apply); nothing is compared with it, and nothing rewrites the store.
 */
export const DIFFERENCE_KINDS = [
  'MISMATCH',
  'MISSING',
  'CHECKPOINT',
  'BEHIND',
  'AHEAD',
  'ORPHAN',
  'PARKED',
  'STATS',
  'NOT_PUBLISHED',
  'PHANTOM',
  'KAFKA_GAP',
  'EVENT_ID',
  'STORE_INVALID',
] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

export const READ_MODEL_KINDS: ReadonlySet<DifferenceKind> = new Set([
  'MISMATCH',
  'MISSING',
  'CHECKPOINT',
  'BEHIND',
  'AHEAD',
  'ORPHAN',
  'PARKED',
  'STATS',
]);

/** One difference. `found` is the read model's value (or Kafka's, for Kafka kinds), `store` the store's. */
export interface Difference {
  kind: DifferenceKind;
  side: 'read-model' | 'kafka' | 'store';
  /** The stream (task) it concerns; a user's statistics name `ownerId` instead. */
  streamId?: string;
  ownerId?: string;
  field: string;
  found: string | null;
  store: string | null;
}

/** Why a stream is looked at again after the settle period: the projector may still apply it. */
export interface Unsettled {
  kind: 'behind' | 'missing';
  /** The read model's version. */
  readModel: number;
  /** The store version it must reach. */
  store: number;
}

export interface ReadModelVerdict {
  differences: Difference[];
  unsettled?: Unsettled;
  /** The state the user's statistics must count for this stream (at the compared version). */
  counted?: Task;
}

const FIELDS: readonly [column: string, key: keyof TaskView, instant: boolean][] = [
  ['owner_id', 'ownerId', false],
  ['title', 'title', false],
  ['description', 'description', false],
  ['due_date', 'dueDate', false],
  ['priority', 'priority', false],
  ['status', 'status', false],
  ['created_at', 'createdAt', true],
  ['updated_at', 'updatedAt', true],
  ['started_at', 'startedAt', true],
  ['completed_at', 'completedAt', true],
  ['abandoned_at', 'abandonedAt', true],
  ['abandon_reason', 'abandonReason', false],
  ['deleted_at', 'deletedAt', true],
  ['version', 'version', false],
];

/** A value as the difference table shows it: strings quoted (so whitespace shows), null as null. */
export const shown = (value: unknown): string =>
  value === null || value === undefined ? 'null' : typeof value === 'string' ? JSON.stringify(value) : String(value);

/** An instant as `timestamptz` keeps it and node-postgres returns it (milliseconds, UTC). */
const instant = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
};

/** Field-by-field differences of a row from the expected view (both present). */
export function compareViews(streamId: string, expected: TaskView, actual: TaskView): Difference[] {
  const differences: Difference[] = [];
  for (const [column, key, isInstant] of FIELDS) {
    const want = isInstant ? instant(expected[key]) : expected[key];
    const have = isInstant ? instant(actual[key]) : actual[key];
    if (want !== have)
      differences.push({
        kind: 'MISMATCH',
        side: 'read-model',
        streamId,
        field: column,
        found: shown(have),
        store: shown(want),
      });
  }
  return differences;
}

/**
 * Compares what the read model holds of a stream with the fold of the store's events. The row is
 * compared at the read model's version (the fold of that prefix) when the read model is behind;
 * a stream behind `threshold` (default: the store's version) comes back `unsettled`, to be looked
 * at again after the settle period, unless it is parked (reported as such: it will not move).
 */
export function judgeReadModel(
  fold: StreamFold,
  rm: ReadModelStream | undefined,
  threshold = fold.version,
): ReadModelVerdict {
  const streamId = fold.streamId;
  const storeVersion = fold.version;
  const rmVersion = readModelVersion(rm);
  if (fold.error !== undefined) {
    return {
      differences: [
        {
          kind: 'STORE_INVALID',
          side: 'store',
          streamId,
          field: 'events',
          found: rm ? `v${rmVersion}` : null,
          store: fold.error,
        },
      ],
      counted: rm?.view ? stateFromView(rm.view) : undefined,
    };
  }
  if (rmVersion > storeVersion) {
    return {
      differences: [
        {
          kind: 'AHEAD',
          side: 'read-model',
          streamId,
          field: 'version',
          found: `v${rmVersion}`,
          store: `v${storeVersion}`,
        },
      ],
      counted: fold.state,
    };
  }
  const differences: Difference[] = [];
  const state = fold.stateAt(rmVersion) ?? fold.state;
  const expected: TaskView | undefined = state.status === 'none' ? undefined : { ...state, version: rmVersion };
  const view = rm?.view;
  if (expected && !view) {
    differences.push({
      kind: 'MISSING',
      side: 'read-model',
      streamId,
      field: 'task_view',
      found: rm?.checkpoint != null ? `no row (checkpoint v${rm.checkpoint})` : 'no row',
      store: `v${rmVersion}`,
    });
  } else if (!expected && view) {
    differences.push({
      kind: 'MISMATCH',
      side: 'read-model',
      streamId,
      field: 'task_view',
      found: `v${view.version} ${view.status}`,
      store: 'no row',
    });
  } else if (expected && view) {
    differences.push(...compareViews(streamId, expected, view));
  }
  if (view && rm?.checkpoint == null) {
    differences.push({
      kind: 'CHECKPOINT',
      side: 'read-model',
      streamId,
      field: 'checkpoint',
      found: 'none',
      store: `v${rmVersion}`,
    });
  }
  const parked = rm !== undefined && (rm.parkedCount > 0 || rm.checkpointParked);
  if (parked) {
    differences.push({
      kind: 'PARKED',
      side: 'read-model',
      streamId,
      field: 'parked_events',
      found:
        rm.parkedCount > 0
          ? `${rm.parkedCount} parked${rm.parkedFrom !== null ? ` from v${rm.parkedFrom}` : ''}, at v${rmVersion}`
          : `flagged parked at v${rmVersion}`,
      store: `v${storeVersion}`,
    });
  }
  const unsettled: Unsettled | undefined =
    !parked && rmVersion < threshold
      ? { kind: rmVersion === 0 && !view ? 'missing' : 'behind', readModel: rmVersion, store: threshold }
      : undefined;
  return { differences, ...(unsettled ? { unsettled } : {}), counted: state };
}

/** What an unsettled stream is once the settle period is over and it is still behind. */
export function unsettledDifference(streamId: string, u: Unsettled): Difference {
  return u.kind === 'missing'
    ? { kind: 'MISSING', side: 'read-model', streamId, field: 'task_view', found: 'no row', store: `v${u.store}` }
    : {
        kind: 'BEHIND',
        side: 'read-model',
        streamId,
        field: 'version',
        found: `v${u.readModel}`,
        store: `v${u.store}`,
      };
}

/** A stream the read model has and the store does not. */
export function orphanDifference(rm: ReadModelStream): Difference {
  const found = rm.view
    ? `v${rm.view.version} ${rm.view.status}`
    : rm.checkpoint !== null
      ? `checkpoint v${rm.checkpoint}`
      : `${rm.parkedCount} parked record(s)`;
  return {
    kind: 'ORPHAN',
    side: 'read-model',
    streamId: rm.streamId,
    field: rm.view ? 'task_view' : rm.checkpoint !== null ? 'checkpoint' : 'parked_events',
    found,
    store: 'none',
  };
}

export interface KafkaVerdict {
  differences: Difference[];
  /** The topic lacks versions the store has: looked at again after the settle period. */
  unpublished?: { kafka: number; store: number };
}

/** Compares what the topic holds of a stream with the store's versions (and event ids, when it can). */
export function judgeKafka(fold: StreamFold, k: KafkaStream | undefined): KafkaVerdict {
  const streamId = fold.streamId;
  const store = fold.version;
  const max = k?.max ?? 0;
  const differences: Difference[] = [];
  if (max > store)
    differences.push({
      kind: 'PHANTOM',
      side: 'kafka',
      streamId,
      field: 'version',
      found: `v${max}`,
      store: store === 0 ? 'none' : `v${store}`,
    });
  if (k && k.contiguous < k.max) {
    differences.push({
      kind: 'KAFKA_GAP',
      side: 'kafka',
      streamId,
      field: 'versions',
      found: `missing ${missingVersions(k)}`,
      store: `v${k.from}..v${store}`,
    });
  } else if (k && !k.idMissing && max <= store && !fold.digest.equals(k.digest)) {
    differences.push({
      kind: 'EVENT_ID',
      side: 'kafka',
      streamId,
      field: 'event_id',
      found: `other ids in v${k.from}..v${max}`,
      store: `ids of v${k.from}..v${max}`,
    });
  }
  return { differences, ...(max < store ? { unpublished: { kafka: max, store } } : {}) };
}

/** The difference of a stream still not (fully) on the topic after the settle period. */
export function unpublishedDifference(streamId: string, kafka: number, store: number): Difference {
  return {
    kind: 'NOT_PUBLISHED',
    side: 'kafka',
    streamId,
    field: 'version',
    found: kafka === 0 ? 'none' : `v${kafka}`,
    store: `v${store}`,
  };
}

/** Adds a stream's state to the per-user counts the statistics must equal. */
export function countState(state: Task | undefined, into: Map<string, StatusCounts>): void {
  if (!state || state.status === 'none') return;
  const counts = into.get(state.ownerId) ?? emptyCounts();
  counts[state.status] += 1;
  into.set(state.ownerId, counts);
}

const COUNTS: readonly (keyof StatusCounts)[] = ['open', 'started', 'completed', 'abandoned', 'deleted'];

/** Per user and status, where the stored statistics differ from the expected counts (absent = all 0). */
export function compareStats(
  expected: ReadonlyMap<string, StatusCounts>,
  actual: ReadonlyMap<string, StatusCounts>,
): Difference[] {
  const differences: Difference[] = [];
  const owners = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  for (const ownerId of owners) {
    const want = expected.get(ownerId) ?? emptyCounts();
    const have = actual.get(ownerId) ?? emptyCounts();
    for (const k of COUNTS) {
      if (want[k] !== have[k])
        differences.push({
          kind: 'STATS',
          side: 'read-model',
          ownerId,
          field: `${k}_count`,
          found: String(have[k]),
          store: String(want[k]),
        });
    }
  }
  return differences;
}
