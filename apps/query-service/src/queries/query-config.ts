import type { CachePolicy } from '../cache/query-cache';
import { TASK_STREAM_NAMING, type StreamNaming } from '../consistency/min-version';
import { VersionWaiter } from '../consistency/version-waiter';
import type { QueryServiceConfig } from '../config';

/** A query type's cache policy: its own fresh and cache times, the service's empty-result time and size. */
export function cachePolicy(config: QueryServiceConfig, freshMs: number, cacheMs: number): CachePolicy {
  return { freshMs, cacheMs, emptyMs: config.CACHE_EMPTY_MS, maxEntries: config.CACHE_MAX_ENTRIES };
}

/** A context's read-your-writes waiter, with the service's timeout and Retry-After. */
export function createVersionWaiter(
  config: QueryServiceConfig,
  readVersions: (streamIds: string[], visibleTo?: string) => Promise<Map<string, number>>,
  naming: StreamNaming = TASK_STREAM_NAMING,
): VersionWaiter {
  return new VersionWaiter(
    readVersions,
    config.READ_YOUR_WRITES_TIMEOUT_MS,
    config.READ_YOUR_WRITES_RETRY_AFTER_S,
    naming.idField,
  );
}
