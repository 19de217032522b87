import { isSnapshotDue } from './snapshot-policy';

describe('isSnapshotDue', () => {
  it.each([
    [99, 0, 100, false],
    [100, 0, 100, true],
    [105, 0, 100, true], // a batch that jumps over the boundary still snapshots
    [199, 100, 100, false],
    [200, 100, 100, true],
    [10_050, 0, 100, true], // stale snapshot ignored: snapshot straight away, not at 10,100
    [1, 0, 1, true],
    [1_000_000, 0, 0, false], // 0 disables snapshots
  ])('at version %i after a snapshot at %i, every %i -> %s', (next, last, every, due) => {
    expect(isSnapshotDue(next, last, every)).toBe(due);
  });
});
