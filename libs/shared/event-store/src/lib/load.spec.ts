import { NO_UPCASTERS, upcasterChain, UpcastError } from '@cqrs/util';
import { counterDecider, type CounterEvent, type CounterState } from '../testing';
import { archiveSettings } from './archive';
import { foldRows, inVersionOrder, upcastData, type LoadRow } from './load';
import { pruneSnapshotsSettings } from './snapshots';

const upcasters = upcasterChain({ Added: { 1: ({ n }) => ({ amount: n }) } });
const row = (version: number, type: string | null, data: unknown, schemaVersion: number | null = 1): LoadRow => ({
  version: String(version),
  type,
  schema_version: type === null ? null : schemaVersion,
  data,
});
const fold = (rows: LoadRow[], chain = upcasters) => foldRows<CounterState, CounterEvent>(rows, counterDecider, chain);
const folded = (...amounts: number[]) =>
  amounts
    .map((amount): CounterEvent => ({ type: 'Added', data: { amount } }))
    .reduce(counterDecider.evolve, counterDecider.initialState());

describe('foldRows (the load)', () => {
  it('starts from the snapshot row and upcasts each event after it', () => {
    const snapshot = folded(1, 2);
    const result = fold([row(2, null, snapshot), row(3, 'Added', { n: 3 }, 1), row(4, 'Added', { amount: 4 }, 2)]);
    expect(result).toEqual({
      state: [3, 4]
        .map((amount): CounterEvent => ({ type: 'Added', data: { amount } }))
        .reduce(counterDecider.evolve, snapshot),
      version: 4,
      snapshotVersion: 2,
    });
  });

  it('replays from the initial state without a snapshot, and folds nothing for no rows', () => {
    expect(fold([row(1, 'Added', { n: 1 }), row(2, 'Added', { n: 2 })])).toEqual({
      state: folded(1, 2),
      version: 2,
      snapshotVersion: 0,
    });
    expect(fold([])).toEqual({ state: counterDecider.initialState(), version: 0, snapshotVersion: 0 });
  });

  it('puts rows in version order if they came otherwise (archive and hot branches of one UNION ALL)', () => {
    const rows = [row(3, 'Added', { amount: 3 }, 2), row(1, 'Added', { n: 1 }), row(2, 'Added', { n: 2 })];
    expect(inVersionOrder(rows).map((r) => r.version)).toEqual(['1', '2', '3']);
    expect(fold(rows).state).toEqual(folded(1, 2, 3));
    const ordered = [row(1, 'Added', {}), row(2, 'Added', {})];
    expect(inVersionOrder(ordered)).toBe(ordered);
  });

  it('fails on data that cannot be upcast', () => {
    expect(() => fold([row(1, 'Added', 5)])).toThrow(UpcastError);
  });
});

describe('upcastData', () => {
  it('returns current data as it is (no copy), and lifts old data', () => {
    const current = { amount: 1 };
    expect(upcastData(upcasters, 'Added', 2, current)).toBe(current);
    expect(upcastData(upcasters, 'Reset', 1, current)).toBe(current);
    expect(upcastData(NO_UPCASTERS, 'Added', 1, current)).toBe(current);
    expect(upcastData(upcasters, 'Added', 1, { n: 7 })).toEqual({ amount: 7 });
    // Written by newer code than this chain knows: passed on.
    expect(upcastData(upcasters, 'Added', 3, current)).toBe(current);
  });
});

describe('maintenance settings', () => {
  it('fills in the prune defaults (keep 5, 90 days) and refuses nonsense', () => {
    expect(pruneSnapshotsSettings()).toEqual({ keep: 5, maxAgeMs: 90 * 86_400_000, dryRun: false, batchSize: 1000 });
    for (const bad of [{ keep: 0 }, { keep: 2.5 }, { maxAgeMs: -1 }, { maxAgeMs: Infinity }, { batchSize: 0 }]) {
      expect(() => pruneSnapshotsSettings(bad)).toThrow(RangeError);
    }
  });

  it('needs an age and terminal types to archive', () => {
    expect(archiveSettings({ olderThanMs: 1000, terminalEventTypes: ['Done'] })).toEqual({
      olderThanMs: 1000,
      terminalEventTypes: ['Done'],
      streamType: null,
      batchSize: 1000,
      dryRun: false,
    });
    for (const bad of [
      { olderThanMs: -1, terminalEventTypes: ['Done'] },
      { olderThanMs: 1.5, terminalEventTypes: ['Done'] },
      { olderThanMs: 0, terminalEventTypes: [] },
      { olderThanMs: 0, terminalEventTypes: [''] },
      { olderThanMs: 0, terminalEventTypes: ['Done'], batchSize: 0 },
    ]) {
      expect(() => archiveSettings(bad)).toThrow(RangeError);
    }
  });
});
