import { planBatch, type Checkpoint, type SequencedRecord, type StreamProjection } from './stream-sequencer';

// A stream of numbers that must start with 'create' and may only grow: enough to break an invariant.
type Ev = { type: 'create' } | { type: 'add'; by: number };
const counter: StreamProjection<number | null, Ev> = {
  initial: () => null,
  apply: (state, event) => {
    if (event.type === 'create') {
      if (state !== null) throw new Error('already created');
      return 0;
    }
    if (state === null) throw new Error('add before create');
    return state + event.by;
  },
};

let offset = 0;
const source = () => ({ topic: 't', partition: 0, offset: String(offset++), key: null, value: null, headers: {} });
const ev = (
  streamId: string,
  version: number,
  event: Ev = version === 1 ? { type: 'create' } : { type: 'add', by: 1 },
): SequencedRecord<Ev> => ({
  source: source(),
  decoded: { ok: true, streamId, version, event },
});
const poison = (streamId: string | null, version: number | null = null): SequencedRecord<Ev> => ({
  source: source(),
  decoded: { ok: false, streamId, version, reason: 'UNDECODABLE', code: 'BODY_MISMATCH', message: 'corrupt' },
});
const plan = (
  records: SequencedRecord<Ev>[],
  checkpoints: Record<string, Checkpoint> = {},
  states: Record<string, number> = {},
  options = {},
) => planBatch(records, new Map(Object.entries(checkpoints)), new Map(Object.entries(states)), counter, options);

describe('planBatch', () => {
  it('applies the next versions of each stream in order and folds several events of a stream into one change', () => {
    const result = plan([ev('a', 1), ev('b', 1), ev('a', 2), ev('a', 3, { type: 'add', by: 5 })]);
    expect(result.changes.get('a')).toMatchObject({ before: null, after: 6, fromVersion: 0, toVersion: 3, applied: 3 });
    expect(result.changes.get('b')).toMatchObject({ after: 0, toVersion: 1 });
    expect(result.checkpoints.get('a')).toEqual({ expectedVersion: 0, version: 3, parked: false });
    expect(result.applied).toHaveLength(4);
  });

  it('skips versions at or below the checkpoint as duplicates and applies what follows them', () => {
    const result = plan([ev('a', 2), ev('a', 3), ev('a', 4)], { a: { version: 3, parked: false } }, { a: 10 });
    expect(result.duplicates.map((d) => d.decoded.ok && d.decoded.version)).toEqual([2, 3]);
    expect(result.changes.get('a')).toMatchObject({ before: 10, after: 11, fromVersion: 3, toVersion: 4 });
  });

  it('reports an event ahead of its stream as a gap, applying nothing of that stream after it', () => {
    const result = plan([ev('a', 3), ev('a', 4), ev('b', 1)], { a: { version: 1, parked: false } }, { a: 0 });
    expect(result.gaps.map((g) => g.decoded.ok && g.decoded.version)).toEqual([3, 4]);
    expect(result.changes.has('a')).toBe(false);
    expect(result.changes.has('b')).toBe(true);
  });

  it('parks a gap when told to, and everything of that stream behind it', () => {
    const result = plan([ev('a', 3), ev('a', 4)], { a: { version: 1, parked: false } }, { a: 0 }, { parkGaps: true });
    expect(result.parked.map((p) => [p.reason, p.version])).toEqual([
      ['GAP', 3],
      ['PARKED_BEHIND', 4],
    ]);
    expect(result.checkpoints.get('a')).toEqual({ expectedVersion: 1, version: 1, parked: true });
  });

  it('parks a poison record and every later record of its stream, while other streams flow', () => {
    const result = plan([ev('a', 1), poison('a', 2), ev('b', 1), ev('a', 3), ev('b', 2)]);
    expect(result.parked.map((p) => [p.streamId, p.reason])).toEqual([
      ['a', 'UNDECODABLE'],
      ['a', 'PARKED_BEHIND'],
    ]);
    expect(result.changes.get('a')).toMatchObject({ toVersion: 1 });
    expect(result.changes.get('b')).toMatchObject({ toVersion: 2 });
    expect(result.checkpoints.get('a')).toEqual({ expectedVersion: 0, version: 1, parked: true });
  });

  it('parks records of a stream that was already parked, even the next version', () => {
    const result = plan([ev('a', 2)], { a: { version: 1, parked: true } }, { a: 0 });
    expect(result.parked.map((p) => p.reason)).toEqual(['PARKED_BEHIND']);
    expect(result.changes.size).toBe(0);
  });

  it('parks an event its projection rejects as an invariant violation, with the reason', () => {
    const result = plan([ev('a', 1, { type: 'add', by: 1 })]);
    expect(result.parked[0]).toMatchObject({ reason: 'INVARIANT_VIOLATED', message: 'add before create', version: 1 });
    expect(result.checkpoints.get('a')).toEqual({ expectedVersion: 0, version: 0, parked: true });
  });

  it('parks a record of no stream without blocking any, with the decoder’s reason', () => {
    const result = plan([poison(null), ev('a', 1)]);
    expect(result.parked).toMatchObject([{ streamId: null, reason: 'UNDECODABLE', code: 'BODY_MISMATCH' }]);
    expect(result.changes.get('a')).toMatchObject({ toVersion: 1 });
  });

  it('lets a redrive release a parked stream: its records apply in order again', () => {
    const result = plan(
      [ev('a', 2), ev('a', 3)],
      { a: { version: 1, parked: true } },
      { a: 0 },
      { unpark: new Set(['a']), parkGaps: true },
    );
    expect(result.parked).toEqual([]);
    expect(result.changes.get('a')).toMatchObject({ after: 2, toVersion: 3 });
    expect(result.checkpoints.get('a')).toEqual({ expectedVersion: 1, version: 3, parked: false });
  });

  it('applies a stream’s events in version order when one overtook another within the batch', () => {
    const result = plan([ev('a', 1), ev('a', 3, { type: 'add', by: 10 }), ev('b', 1), ev('a', 2)]);
    expect(result.gaps).toEqual([]);
    expect(result.changes.get('a')).toMatchObject({ after: 11, toVersion: 3 });
  });

  it('keeps arrival order for a stream with a record of unknown version', () => {
    const result = plan([ev('a', 1), ev('a', 3), poison('a'), ev('a', 2)]);
    expect(result.gaps.map((g) => g.decoded.version)).toEqual([3]);
    expect(result.parked.map((p) => p.reason)).toEqual(['UNDECODABLE', 'PARKED_BEHIND']);
  });

  it('leaves streams it only skipped duplicates of out of the checkpoints to write', () => {
    const result = plan([ev('a', 1)], { a: { version: 1, parked: false } }, { a: 0 });
    expect(result.checkpoints.size).toBe(0);
  });
});
