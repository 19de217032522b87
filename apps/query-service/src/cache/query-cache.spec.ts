import { QueryCache, type CachePolicy } from './query-cache';

// A clock the test moves, and loads the test resolves: every rule is checked by counting
// database reads and looking at what each caller got.
class FakeClock {
  t = 1_000;
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const policy: CachePolicy = { freshMs: 1_000, cacheMs: 10_000, emptyMs: 200, maxEntries: 100 };
const flush = () => new Promise((r) => setImmediate(r));
// Until reads that just failed or finished have been looked at (a few turns of the event loop).
const settle = async () => {
  for (let i = 0; i < 3; i++) await flush();
};

function setup(p: CachePolicy = policy) {
  const clock = new FakeClock();
  const cache = new QueryCache<string | null>('test', p, (v) => v === null, clock);
  let reads = 0;
  let next: string | null = 'v1';
  const load = async () => {
    reads++;
    return next;
  };
  return {
    clock,
    cache,
    load,
    reads: () => reads,
    setNext: (v: string | null) => (next = v),
  };
}

describe('QueryCache', () => {
  it('serves a fresh entry without reading the database again', async () => {
    const { cache, load, reads, clock } = setup();
    expect(await cache.get('k', load)).toEqual({ value: 'v1', outcome: 'miss' });
    clock.advance(999);
    expect(await cache.get('k', load)).toEqual({ value: 'v1', outcome: 'hit' });
    expect(reads()).toBe(1);
  });

  it('serves a stale entry at once while exactly one background read refreshes it', async () => {
    const { cache, clock } = setup();
    await cache.get('k', async () => 'v1');
    clock.advance(1_500);
    const refresh = deferred<string>();
    let reads = 0;
    const slowLoad = () => {
      reads++;
      return refresh.promise;
    };
    const answers = await Promise.all([cache.get('k', slowLoad), cache.get('k', slowLoad), cache.get('k', slowLoad)]);
    expect(answers.map((a) => [a.value, a.outcome])).toEqual([
      ['v1', 'stale'],
      ['v1', 'stale'],
      ['v1', 'stale'],
    ]);
    expect(reads).toBe(1);
    refresh.resolve('v2');
    await flush();
    expect(await cache.get('k', slowLoad)).toEqual({ value: 'v2', outcome: 'hit' });
    expect(reads).toBe(1);
  });

  it('waits for the database once an entry is older than the cache time', async () => {
    const { cache, load, reads, clock, setNext } = setup();
    await cache.get('k', load);
    setNext('v2');
    clock.advance(10_001);
    expect(await cache.get('k', load)).toEqual({ value: 'v2', outcome: 'miss' });
    expect(reads()).toBe(2);
  });

  it('lets concurrent misses of one key share a single database read', async () => {
    const { cache } = setup();
    const read = deferred<string>();
    let reads = 0;
    const load = () => {
      reads++;
      return read.promise;
    };
    const all = Promise.all(Array.from({ length: 20 }, () => cache.get('k', load)));
    read.resolve('v1');
    expect((await all).every((a) => a.value === 'v1')).toBe(true);
    expect(reads).toBe(1);
  });

  it('caches empty results briefly and never serves them stale', async () => {
    const { cache, load, reads, clock, setNext } = setup();
    setNext(null);
    await cache.get('missing', load);
    clock.advance(150);
    expect(await cache.get('missing', load)).toEqual({ value: null, outcome: 'hit' });
    expect(reads()).toBe(1);
    setNext('now exists');
    clock.advance(100); // 250 ms > emptyMs: not served, even though under the cache time
    expect(await cache.get('missing', load)).toEqual({ value: 'now exists', outcome: 'miss' });
    expect(reads()).toBe(2);
  });

  it('turns caching off when the cache time is 0: every read goes to the database', async () => {
    const { cache, load, reads } = setup({ ...policy, freshMs: 0, cacheMs: 0 });
    await cache.get('k', load);
    expect(await cache.get('k', load)).toEqual({ value: 'v1', outcome: 'off' });
    expect(reads()).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('drops an entry on invalidation so the next read sees the change', async () => {
    const { cache, load, reads, setNext } = setup();
    await cache.get('k', load);
    setNext('v2');
    cache.delete('k');
    expect(await cache.get('k', load)).toEqual({ value: 'v2', outcome: 'miss' });
    expect(reads()).toBe(2);
  });

  it('does not store a read that was in flight when its key was invalidated', async () => {
    const { cache } = setup();
    const old = deferred<string>();
    const inFlight = cache.get('k', () => old.promise);
    cache.delete('k'); // the projector committed a change while the read ran
    old.resolve('before the change');
    expect((await inFlight).value).toBe('before the change'); // its own caller still gets an answer
    expect(await cache.get('k', async () => 'after the change')).toEqual({
      value: 'after the change',
      outcome: 'miss',
    });
  });

  it('drops every entry of a tag, and only those', async () => {
    const { cache, load, reads } = setup();
    await cache.get('u1|page1', load, { tag: 'u1' });
    await cache.get('u1|page2', load, { tag: 'u1' });
    await cache.get('u2|page1', load, { tag: 'u2' });
    cache.deleteTag('u1');
    await cache.get('u1|page1', load, { tag: 'u1' });
    await cache.get('u2|page1', load, { tag: 'u2' });
    expect(reads()).toBe(4); // u1|page1 read again, u2 served from cache
  });

  it('forgets the key of every failed read: failing requests cannot grow the tag index', async () => {
    const { cache } = setup();
    const failing = () => Promise.reject(new Error('bad cursor'));
    for (let i = 0; i < 200; i++)
      await expect(cache.get(`u1|page${i}`, failing, { tag: 'u1' })).rejects.toThrow('bad cursor');
    await settle();
    expect(cache.indexedKeys).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('forgets a key whose background refresh failed, and keeps one a read is still in flight for', async () => {
    const { cache, clock } = setup();
    await cache.get('u1|page1', async () => 'v1', { tag: 'u1' });
    clock.advance(1_500);
    const refresh = deferred<string>();
    expect(
      await cache.get('u1|page1', () => refresh.promise.then(() => Promise.reject(new Error('timeout'))), {
        tag: 'u1',
      }),
    ).toEqual({
      value: 'v1',
      outcome: 'stale',
    });
    const slow = deferred<string>();
    const inFlight = cache.get('u1|page2', () => slow.promise, { tag: 'u1' });
    refresh.resolve('');
    await settle();
    expect(cache.indexedKeys).toBe(1); // page2, still being read: an invalidation must still reach it
    cache.deleteTag('u1');
    slow.resolve('before the change');
    await inFlight;
    await settle();
    expect(cache.indexedKeys).toBe(0);
    expect(cache.size).toBe(0); // not stored: the tag was dropped while it was read
  });

  it('keeps the tag index within the entries held when many keys come and go', async () => {
    const { cache, load } = setup({ ...policy, maxEntries: 10 });
    for (let i = 0; i < 500; i++) await cache.get(`u${i % 7}|page${i}`, load, { tag: `u${i % 7}` });
    await settle();
    expect(cache.size).toBe(10);
    expect(cache.indexedKeys).toBe(10);
  });

  it('refuses a fresh time longer than the cache time', () => {
    expect(() => new QueryCache('bad', { ...policy, freshMs: 20_000 }, () => false)).toThrow(
      'fresh time (20000 ms) exceeds cache time (10000 ms)',
    );
  });
});
