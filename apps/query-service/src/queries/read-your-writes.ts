import type { CacheOutcome, QueryCache } from '../cache/query-cache';
import type { VersionRequirement } from '../consistency/min-version';
import type { VersionWaiter } from '../consistency/version-waiter';
import type { QueryAnswer } from './query-answer';
import { mayRead, visibleTo, type Reader } from './reader';

/** A read through a cache, with read-your-writes: who reads, and the versions they require. */
export interface ConsistentRead {
  waiter: VersionWaiter;
  reader: Reader;
  requirements: readonly VersionRequirement[];
}

/**
 * A cached query result (a list, statistics) with read-your-writes: first waits until the read
 * model reaches the requirements (only the reader's own streams count), then answers from the
 * cache, or from the database when versions were required.
 * @param tag what the entry is dropped with (e.g. the owner, whose changes make it outdated)
 */
export async function readCached<T>(
  { waiter, reader, requirements }: ConsistentRead,
  query: { cache: QueryCache<T>; key: string; load: () => Promise<T>; tag?: string },
): Promise<QueryAnswer<T>> {
  const { waitedMs } = await waiter.waitFor(requirements, visibleTo(reader));
  if (requirements.length > 0) {
    // Whether a cached result already includes the awaited change cannot be told from the
    // result, so a read-your-writes query reads the database (and leaves the cache alone).
    return { value: await query.load(), cache: 'bypass', waitedMs };
  }
  const { value, outcome } = await query.cache.get(query.key, query.load, { tag: query.tag });
  return { value, cache: outcome, waitedMs };
}

/**
 * One aggregate's view with read-your-writes: waits for the requirements, answers from the cache
 * unless the cached view is older than the version required of it, and hides someone else's view
 * from a reader who is neither its owner nor an admin. `value` is `null` when there is nothing
 * the reader may see: the context answers its 404 (see `withCacheStatus`), worded as for an
 * unknown id so that ids cannot be probed.
 */
export async function readOwnedView<V extends { version: number }>(
  { waiter, reader, requirements }: ConsistentRead,
  view: { cache: QueryCache<V | null>; streamId: string; load: () => Promise<V | null>; ownerOf: (view: V) => string },
): Promise<QueryAnswer<V | null>> {
  const { waitedMs } = await waiter.waitFor(requirements, visibleTo(reader));
  let answer: { value: V | null; cache: CacheOutcome | 'bypass' } = await view.cache
    .get(view.streamId, view.load)
    .then((a) => ({ value: a.value, cache: a.outcome }));
  const required = requirements.find((r) => r.streamId === view.streamId)?.version ?? 0;
  if ((answer.value?.version ?? 0) < required) {
    // The cache may hold a read from just before the change whose NOTIFY is still on its way.
    // The fresh read is not stored: a newer change's invalidation may already have passed.
    answer = { value: await view.load(), cache: 'bypass' };
  }
  const visible = answer.value && mayRead(reader, view.ownerOf(answer.value)) ? answer.value : null;
  return { value: visible, cache: answer.cache, waitedMs };
}
