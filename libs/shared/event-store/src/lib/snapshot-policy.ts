/**
 * Whether an append that brings a stream to `nextVersion` should also write a snapshot.
 * Counting from the snapshot the state was loaded from (not from multiples of `every`) means a
 * stream whose snapshots became stale (new state schema version) gets a fresh one on its very
 * next append instead of replaying up to `every` more times.
 */
export function isSnapshotDue(nextVersion: number, lastSnapshotVersion: number, every: number): boolean {
  return every > 0 && nextVersion - lastSnapshotVersion >= every;
}
