import type { TaskEvent } from '@cqrs/tasks-domain';
import { replayTask, type TaskView } from '@cqrs/tasks-read-model';
import { taskEvents } from '@cqrs/tasks-read-model/testing';
import { compareStats, judgeKafka, judgeReadModel, orphanDifference, unsettledDifference } from './compare';
import { KafkaStreams, missingVersions } from './kafka-streams';
import type { ReadModelStream } from './read-model-side';
import { StreamFold, type StoreEventRow } from './stream-fold';

const id = 'task-1';
const t = taskEvents(id, 'alice');
const history: TaskEvent[] = [
  t.created('write the report'),
  t.updated({ title: 'write the annual report', description: 'pages' }),
  t.started(),
  t.completed(),
];
const eventId = (v: number) => `00000000-0000-4000-8000-00000000000${v}`;
const rows = (events: readonly TaskEvent[], from = 1): StoreEventRow[] =>
  events.map((e, i) => ({
    streamId: id,
    version: from + i,
    eventId: eventId(from + i),
    type: e.type,
    schemaVersion: e.type === 'TaskCreated' ? 2 : 1,
    data: e.data,
  }));

const fold = (compareAt: number, events = history, digestRange?: { from: number; to: number }) => {
  const f = new StreamFold(id, compareAt, digestRange);
  for (const r of rows(events)) f.add(r);
  return f;
};
const rmAt = (
  version: number,
  patch: Partial<TaskView> = {},
  more: Partial<ReadModelStream> = {},
): ReadModelStream => ({
  streamId: id,
  checkpoint: version,
  checkpointParked: false,
  view: { ...replayTask(history.slice(0, version))!, ...patch },
  parkedCount: 0,
  parkedFrom: null,
  ...more,
});

describe('StreamFold', () => {
  it('folds the stream as the projection does, upcasting old shapes, and keeps the state at the version asked for', () => {
    const f = new StreamFold(id, 2);
    const [created, ...rest] = rows(history);
    // A TaskCreated of schema version 1 has no priority: the upcaster makes it NORMAL.
    const { priority: _priority, ...v1 } = (history[0] as Extract<TaskEvent, { type: 'TaskCreated' }>).data;
    f.add({ ...created!, schemaVersion: 1, data: v1 });
    for (const r of rest) f.add(r);
    expect(f.error).toBeUndefined();
    expect(f.version).toBe(4);
    expect({ ...f.state, version: 4 }).toEqual(replayTask(history));
    expect({ ...f.stateAt(2)!, version: 2 }).toEqual(replayTask(history.slice(0, 2)));
    expect(f.stateAt(0)).toEqual({ status: 'none' });
  });

  it('refuses a stream with a missing version, a repeated one, or an event that does not apply', () => {
    const gap = new StreamFold(id, 0);
    for (const r of rows(history).filter((r) => r.version !== 2)) gap.add(r);
    expect(gap.error).toBe('versions 2..2 are missing');
    expect(gap.version).toBe(4);

    const twice = new StreamFold(id, 0);
    for (const r of [...rows(history.slice(0, 2)), ...rows(history.slice(1, 2), 2)]) twice.add(r);
    expect(twice.error).toBe('version 2 is stored twice');

    const bad = new StreamFold(id, 0);
    bad.add(rows([t.started()])[0]!);
    expect(bad.error).toMatch(/^v1 \(TaskStarted v1\) does not apply/);
  });
});

describe('judgeReadModel', () => {
  it('finds nothing when the row is the replay at its version', () => {
    expect(judgeReadModel(fold(4), rmAt(4))).toEqual({
      differences: [],
      counted: expect.objectContaining({ status: 'completed' }),
    });
  });

  it('reports each field that differs, the version included', () => {
    const { differences } = judgeReadModel(fold(4), rmAt(4, { title: 'tampered', version: 9 }));
    expect(differences).toEqual([
      {
        kind: 'MISMATCH',
        side: 'read-model',
        streamId: id,
        field: 'title',
        found: '"tampered"',
        store: '"write the annual report"',
      },
      { kind: 'MISMATCH', side: 'read-model', streamId: id, field: 'version', found: '9', store: '4' },
    ]);
  });

  it('compares a row that is behind at its own version, and leaves it unsettled until the settle period is over', () => {
    const verdict = judgeReadModel(fold(2), rmAt(2));
    expect(verdict.differences).toEqual([]);
    expect(verdict.unsettled).toEqual({ kind: 'behind', readModel: 2, store: 4 });
    expect(verdict.counted).toMatchObject({ status: 'open' });
    expect(unsettledDifference(id, verdict.unsettled!)).toMatchObject({ kind: 'BEHIND', found: 'v2', store: 'v4' });
    // After the settle period, only the version noted the first time must have been reached.
    expect(judgeReadModel(fold(4), rmAt(4), 4).unsettled).toBeUndefined();
    expect(judgeReadModel(fold(3), rmAt(3), 4).unsettled).toEqual({ kind: 'behind', readModel: 3, store: 4 });
  });

  it('reports a missing row, a row without a checkpoint, a read model ahead of the store, a parked stream and an orphan', () => {
    expect(judgeReadModel(fold(0), undefined).unsettled).toEqual({ kind: 'missing', readModel: 0, store: 4 });
    expect(judgeReadModel(fold(4), { ...rmAt(4), view: undefined }).differences).toEqual([
      {
        kind: 'MISSING',
        side: 'read-model',
        streamId: id,
        field: 'task_view',
        found: 'no row (checkpoint v4)',
        store: 'v4',
      },
    ]);
    expect(judgeReadModel(fold(4), rmAt(4, {}, { checkpoint: null })).differences).toEqual([
      { kind: 'CHECKPOINT', side: 'read-model', streamId: id, field: 'checkpoint', found: 'none', store: 'v4' },
    ]);
    expect(judgeReadModel(fold(4, history.slice(0, 3)), rmAt(4)).differences).toEqual([
      { kind: 'AHEAD', side: 'read-model', streamId: id, field: 'version', found: 'v4', store: 'v3' },
    ]);
    const parked = judgeReadModel(fold(1), rmAt(1, {}, { checkpointParked: true, parkedCount: 2, parkedFrom: 2 }));
    expect(parked.differences).toEqual([
      {
        kind: 'PARKED',
        side: 'read-model',
        streamId: id,
        field: 'parked_events',
        found: '2 parked from v2, at v1',
        store: 'v4',
      },
    ]);
    expect(parked.unsettled).toBeUndefined();
    expect(orphanDifference(rmAt(4))).toEqual({
      kind: 'ORPHAN',
      side: 'read-model',
      streamId: id,
      field: 'task_view',
      found: 'v4 completed',
      store: 'none',
    });
  });

  it('compares nothing with a stream the store cannot fold, and counts the row as it is', () => {
    const broken = new StreamFold(id, 4);
    for (const r of rows(history).filter((r) => r.version !== 3)) broken.add(r);
    const verdict = judgeReadModel(broken, rmAt(4));
    expect(verdict.differences).toEqual([
      {
        kind: 'STORE_INVALID',
        side: 'store',
        streamId: id,
        field: 'events',
        found: 'v4',
        store: 'versions 3..3 are missing',
      },
    ]);
    expect(verdict.counted).toMatchObject({ status: 'completed' });
  });
});

describe('KafkaStreams and judgeKafka', () => {
  const topic = (records: [version: number, id?: string][], truncated = false) => {
    const k = new KafkaStreams();
    for (const [v, eid] of records) k.add(id, String(v), eid, truncated);
    return k;
  };

  it('keeps the highest version, whether 1..max all came, and ignores redelivered versions', () => {
    const k = topic([
      [1, eventId(1)],
      [2, eventId(2)],
      [2, eventId(2)],
      [4, eventId(4)],
      [3, eventId(3)],
      [1, eventId(1)],
    ]);
    expect(k.byStream.get(id)).toMatchObject({ max: 4, contiguous: 4, from: 1, truncated: false });
    expect(k.duplicates).toBe(2);
    expect(judgeKafka(fold(4, history, { from: 1, to: 4 }), k.byStream.get(id))).toEqual({ differences: [] });
  });

  it('reports versions the store does not have, gaps, other event ids, and what is not published yet', () => {
    const ahead = topic([
      [1, eventId(1)],
      [2, eventId(2)],
      [3, eventId(3)],
      [4, eventId(4)],
      [5, eventId(5)],
    ]).byStream.get(id);
    expect(judgeKafka(fold(4), ahead).differences).toContainEqual({
      kind: 'PHANTOM',
      side: 'kafka',
      streamId: id,
      field: 'version',
      found: 'v5',
      store: 'v4',
    });

    const gap = topic([[1], [2], [5], [7]]).byStream.get(id)!;
    expect(missingVersions(gap)).toBe('v3-v4, v6');
    expect(judgeKafka(fold(4, history), gap).differences).toContainEqual(
      expect.objectContaining({ kind: 'KAFKA_GAP', found: 'missing v3-v4, v6' }),
    );

    const otherIds = topic([
      [1, eventId(1)],
      [2, eventId(8)],
    ]).byStream.get(id);
    expect(judgeKafka(fold(4, history, { from: 1, to: 2 }), otherIds)).toEqual({
      differences: [
        {
          kind: 'EVENT_ID',
          side: 'kafka',
          streamId: id,
          field: 'event_id',
          found: 'other ids in v1..v2',
          store: 'ids of v1..v2',
        },
      ],
      unpublished: { kafka: 2, store: 4 },
    });
    expect(judgeKafka(fold(4), undefined)).toEqual({ differences: [], unpublished: { kafka: 0, store: 4 } });
  });

  it('checks a stream whose first records retention deleted from its first version on the topic', () => {
    const k = topic(
      [
        [3, eventId(3)],
        [4, eventId(4)],
      ],
      true,
    ).byStream.get(id)!;
    expect(k).toMatchObject({ from: 3, contiguous: 4, max: 4, truncated: true });
    expect(judgeKafka(fold(4, history, { from: 3, to: 4 }), k)).toEqual({ differences: [] });
  });

  it('counts records without a key or a version apart', () => {
    const k = new KafkaStreams();
    k.add(null, '1', undefined, false);
    k.add(id, 'x', undefined, false);
    expect([k.records, k.unkeyed, k.unversioned, k.byStream.size]).toEqual([2, 1, 1, 0]);
  });
});

describe('compareStats', () => {
  it('reports each count of each user that differs, a missing row counting as zeros', () => {
    const counts = (open: number, completed = 0) => ({ open, started: 0, completed, abandoned: 0, deleted: 0 });
    expect(
      compareStats(
        new Map([
          ['alice', counts(2, 1)],
          ['bob', counts(1)],
        ]),
        new Map([
          ['alice', counts(7, 1)],
          ['carol', counts(0)],
        ]),
      ),
    ).toEqual([
      { kind: 'STATS', side: 'read-model', ownerId: 'alice', field: 'open_count', found: '7', store: '2' },
      { kind: 'STATS', side: 'read-model', ownerId: 'bob', field: 'open_count', found: '0', store: '1' },
    ]);
  });
});
