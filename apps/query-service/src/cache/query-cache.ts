import { counter } from '@cqrs/observability';
import { LRUCache } from 'lru-cache';

/**
 * How long one query type's results are reused.
 *
 * - `freshMs`: a result younger than this is served without touching the database.
 * - `cacheMs`: a result older than `freshMs` but younger than this is still served at once
 *   (stale-while-revalidate) while one background read refreshes it; older than this, a read
 *   waits for the database. `cacheMs: 0` turns caching off for the query type.
 * - `emptyMs`: an empty result (unknown id, empty list) is kept this long and never served
 *   stale, so a burst of requests for something that does not exist costs one read.
 * - `maxEntries`: least recently used results are evicted beyond this.
 *
 * Entries are also dropped as soon as the projector reports a change (see {@link QueryCache.delete}),
 * so the fresh time only bounds staleness when a change notification is lost.
 */
export interface CachePolicy {
  freshMs: number;
  cacheMs: number;
  emptyMs: number;
  maxEntries: number;
}

/** How a read was answered, for logs and `cqrs_cache_requests_total`. */
export type CacheOutcome = 'hit' | 'stale' | 'miss' | 'off';

/**
 * The RFC 9211 `Cache-Status` value for an answer, so clients and tests can see how it was
 * produced (`bypass`: a read-your-writes read that skipped the cache).
 */
export function cacheStatus(outcome: CacheOutcome | 'bypass'): string {
  const detail = {
    hit: 'hit',
    stale: 'hit; detail=stale-while-revalidate',
    miss: 'fwd=miss',
    off: 'fwd=bypass; detail=cache-off',
    bypass: 'fwd=bypass; detail=min-version',
  }[outcome];
  return `query-service; ${detail}`;
}

interface Entry<V> {
  value: V;
  fetchedAt: number;
  /** Beyond this age the entry is not served even stale. */
  maxAgeMs: number;
}

interface FetchContext<V> {
  load: () => Promise<V>;
}

const requests = counter(
  'cqrs_cache_requests_total',
  'Query cache lookups by query type and outcome (hit, stale, miss, off).',
  ['query', 'outcome'],
);
const invalidations = counter(
  'cqrs_cache_invalidations_total',
  'Query cache entries dropped because the projector committed a change.',
  ['query'],
);

/**
 * A read-through cache for one query type, on lru-cache: its `fetchMethod` gives in-flight
 * de-duplication (concurrent misses of a key share one database read) and stale-while-revalidate
 * (a stale entry is returned while exactly one background fetch refreshes it). This class only
 * adds the policy above, tags (to drop every entry of a user at once) and metrics.
 *
 * The tag index only ever holds keys that lru-cache holds (at most `maxEntries`) or that a read
 * is in flight for: a failed read, an evicted read and a failed background refresh leave nothing
 * behind, so clients cannot grow it by sending requests that fail (e.g. forged cursors).
 */
export class QueryCache<V> {
  private readonly lru: LRUCache<string, Entry<V>, FetchContext<V>> | undefined;
  private readonly tagged = new Map<string, Set<string>>();
  private readonly tagOfKey = new Map<string, string>();
  /** Reads (calls of get, and loads) in flight per key. */
  private readonly inFlight = new Map<string, number>();

  /**
   * @param query the query type's name (metric label), e.g. `task`
   * @param isEmpty which results count as empty (cached for `emptyMs` only)
   * @param clock time source in milliseconds; tests pass a fake one. @default performance
   */
  constructor(
    readonly query: string,
    readonly policy: CachePolicy,
    private readonly isEmpty: (value: V) => boolean,
    private readonly clock: { now(): number } = performance,
  ) {
    if (policy.cacheMs < 0 || policy.freshMs < 0 || policy.emptyMs < 0)
      throw new RangeError(`${query} cache: times must be >= 0`);
    if (policy.cacheMs > 0 && policy.freshMs > policy.cacheMs) {
      throw new RangeError(
        `${query} cache: fresh time (${policy.freshMs} ms) exceeds cache time (${policy.cacheMs} ms)`,
      );
    }
    if (policy.cacheMs === 0) return;
    this.lru = new LRUCache<string, Entry<V>, FetchContext<V>>({
      max: policy.maxEntries,
      // lru-cache's ttl is when an entry turns stale; how long stale is still servable is ours.
      ttl: Math.max(1, policy.freshMs),
      ttlResolution: 0,
      perf: clock,
      allowStale: true,
      // A read that was in flight when its key was invalidated still answers its own caller,
      // but lru-cache does not store its (possibly outdated) result.
      ignoreFetchAbort: true,
      fetchMethod: async (key, _stale, { options, context }) => {
        this.begin(key);
        try {
          const value = await context.load();
          const empty = this.isEmpty(value);
          if (empty) options.ttl = Math.max(1, policy.emptyMs);
          return { value, fetchedAt: this.clock.now(), maxAgeMs: empty ? policy.emptyMs : policy.cacheMs };
        } finally {
          // lru-cache stores the result, or drops the key of a failed read without a dispose
          // call, only after this returns: look at the key once it has.
          setImmediate(() => this.end(key));
        }
      },
      dispose: (_value, key, reason) => {
        if (reason !== 'set') this.untag(key);
      },
    });
  }

  /**
   * The cached result for `key`, or `load()`'s. `tag` groups keys for {@link deleteTag}.
   * Resolves with the value and how it was answered.
   */
  async get(
    key: string,
    load: () => Promise<V>,
    options: { tag?: string } = {},
  ): Promise<{ value: V; outcome: CacheOutcome }> {
    if (!this.lru) {
      requests.inc({ query: this.query, outcome: 'off' });
      return { value: await load(), outcome: 'off' };
    }
    const current = this.lru.peek(key, { allowStale: true });
    const age = current ? this.clock.now() - current.fetchedAt : Infinity;
    const tooOld = current !== undefined && age > current.maxAgeMs;
    if (options.tag !== undefined) this.tag(key, options.tag);
    this.begin(key);
    try {
      const status: LRUCache.Status<string, Entry<V>, FetchContext<V>> = {};
      const entry = await this.lru.fetch(key, { context: { load }, allowStale: !tooOld, status });
      if (!entry) {
        // Only when the key was dropped while its read was in flight and nothing older is left.
        requests.inc({ query: this.query, outcome: 'miss' });
        return { value: await load(), outcome: 'miss' };
      }
      const outcome: CacheOutcome = status.fetch === 'hit' ? 'hit' : status.returnedStale ? 'stale' : 'miss';
      requests.inc({ query: this.query, outcome });
      return { value: entry.value, outcome };
    } finally {
      this.end(key);
    }
  }

  /** Drops one key (and cancels storing a read in flight for it). */
  delete(key: string): void {
    if (this.lru?.delete(key)) invalidations.inc({ query: this.query });
    this.untag(key);
  }

  /**
   * Drops `key` unless the value it holds is already current: a change notice can arrive after a
   * read that already saw the change (the NOTIFY travels on another connection), and dropping
   * that entry would only cost the next read a trip to the database.
   */
  deleteUnlessCurrent(key: string, isCurrent: (value: V) => boolean): void {
    const entry = this.lru?.peek(key, { allowStale: true });
    if (entry && isCurrent(entry.value)) return;
    this.delete(key);
  }

  /** Drops every key stored with `tag` (e.g. all pages of one user's list). */
  deleteTag(tag: string): void {
    const keys = this.tagged.get(tag);
    if (!keys) return;
    this.tagged.delete(tag);
    for (const key of keys) {
      this.tagOfKey.delete(key);
      if (this.lru?.delete(key)) invalidations.inc({ query: this.query });
    }
  }

  /** Drops everything (the change feed lost its connection, or another generation took over). */
  clear(): void {
    this.lru?.clear();
    this.tagged.clear();
    this.tagOfKey.clear();
  }

  /** Entries held, for tests and diagnostics. */
  get size(): number {
    return this.lru?.size ?? 0;
  }

  /** Keys in the tag index, for tests and diagnostics. */
  get indexedKeys(): number {
    return this.tagOfKey.size;
  }

  private begin(key: string): void {
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
  }

  /** A read of `key` settled: once none is left and nothing is stored, the key leaves the tag index. */
  private end(key: string): void {
    const left = (this.inFlight.get(key) ?? 1) - 1;
    if (left > 0) {
      this.inFlight.set(key, left);
      return;
    }
    this.inFlight.delete(key);
    if (this.lru?.peek(key, { allowStale: true }) === undefined) this.untag(key);
  }

  private tag(key: string, tag: string): void {
    this.tagOfKey.set(key, tag);
    let keys = this.tagged.get(tag);
    if (!keys) this.tagged.set(tag, (keys = new Set()));
    keys.add(key);
  }

  private untag(key: string): void {
    const tag = this.tagOfKey.get(key);
    if (tag === undefined) return;
    this.tagOfKey.delete(key);
    const keys = this.tagged.get(tag);
    keys?.delete(key);
    if (keys?.size === 0) this.tagged.delete(tag);
  }
}
