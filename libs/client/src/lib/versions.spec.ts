import { MAX_REQUIREMENTS, VersionTracker } from './versions';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('VersionTracker', () => {
  it('keeps the highest version a command returned per stream and kind', () => {
    const versions = new VersionTracker();
    versions.record('task', id(1), 3);
    versions.record('task', id(1), 2); // an older answer arriving late
    versions.record('project', id(1), 7);
    expect(versions.minVersion('task', id(1))).toBe(3);
    expect(versions.minVersion('project', id(1))).toBe(7);
    expect(versions.minVersion('task', id(2))).toBeUndefined();
    expect(versions.requirements('task')).toBe(`${id(1)}:3`);
  });

  it('sends the newest writes of a kind to lists, at most as many as the query side takes', () => {
    const versions = new VersionTracker();
    for (let n = 1; n <= MAX_REQUIREMENTS + 5; n++) versions.record('task', id(n), n);
    versions.record('task', id(1), 100); // written again: newest now
    const sent = versions.requirements('task')!.split(',');
    expect(sent).toHaveLength(MAX_REQUIREMENTS);
    expect(sent.at(-1)).toBe(`${id(1)}:100`);
    expect(sent).not.toContain(`${id(2)}:2`);
    expect(versions.requirements('project')).toBeUndefined();
  });

  it('forgets writes after the TTL, and the oldest beyond maxEntries', () => {
    let now = 0;
    const versions = new VersionTracker({ ttlMs: 1000, maxEntries: 2, now: () => now });
    versions.record('task', id(1), 1);
    now = 500;
    versions.record('task', id(2), 1);
    versions.record('task', id(3), 1);
    expect(versions.minVersion('task', id(1))).toBeUndefined(); // evicted
    now = 1200;
    expect(versions.minVersion('task', id(2))).toBe(1);
    now = 1500;
    expect(versions.minVersion('task', id(2))).toBeUndefined(); // expired
    expect(versions.requirements('task')).toBeUndefined();
  });

  it('records nothing with a TTL of 0, nor a version that is not a positive integer; clear() forgets all', () => {
    const off = new VersionTracker({ ttlMs: 0 });
    off.record('task', id(1), 1);
    expect(off.minVersion('task', id(1))).toBeUndefined();
    const versions = new VersionTracker();
    versions.record('task', id(1), 0);
    versions.record('task', id(2), 1.5);
    expect(versions.requirements('task')).toBeUndefined();
    versions.record('task', id(3), 4);
    versions.clear();
    expect(versions.minVersion('task', id(3))).toBeUndefined();
  });
});
