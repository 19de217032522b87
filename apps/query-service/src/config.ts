import { ConfigError, env, loadConfig } from '@cqrs/config';
import { apiServiceConfig } from '@cqrs/http';

const shape = {
  ...apiServiceConfig(3001, 9001),
  /** The read database as a role with SELECT only (`cqrs_query`). */
  DATABASE_URL: env.url('postgres://cqrs_query:cqrs@127.0.0.1:5433/cqrs_read'),
  DATABASE_POOL_SIZE: env.int(10, 1),
  /**
   * How long a query waits for a pooled connection (or a new one to connect) before it is
   * answered 503 READ_MODEL_UNAVAILABLE with Retry-After: overload sheds instead of queueing.
   */
  DATABASE_ACQUIRE_TIMEOUT_MS: env.int(2_000, 1),
  /** Longest one SQL statement may run (PostgreSQL `statement_timeout`); beyond it, 503 as above. */
  DATABASE_STATEMENT_TIMEOUT_MS: env.int(5_000, 1),
  /** Longest a query with X-Min-Version / minVersion waits for the read model. */
  READ_YOUR_WRITES_TIMEOUT_MS: env.int(2_000, 0),
  /** Retry-After (seconds) sent when that wait times out. */
  READ_YOUR_WRITES_RETRY_AFTER_S: env.int(1, 0),
  // Cache per query type: fresh time (served without a read) and cache time (served stale while
  // one background read refreshes; 0 = no caching). Entries also drop on every projector commit.
  CACHE_TASK_FRESH_MS: env.int(5_000),
  CACHE_TASK_TIME_MS: env.int(60_000),
  CACHE_TASK_LIST_FRESH_MS: env.int(1_000),
  CACHE_TASK_LIST_TIME_MS: env.int(30_000),
  CACHE_USER_STATS_FRESH_MS: env.int(1_000),
  CACHE_USER_STATS_TIME_MS: env.int(30_000),
  /** How long an empty result (unknown task, empty list) is cached; never served stale. */
  CACHE_EMPTY_MS: env.int(1_000),
  /** Entries kept per query type (least recently used evicted first). */
  CACHE_MAX_ENTRIES: env.int(10_000, 1),
};

/** Read once at start-up; the defaults match `npm start` on the local stack. */
export const loadQueryServiceConfig = (source: NodeJS.ProcessEnv = process.env) => {
  const config = loadConfig('query-service', shape, source);
  const issues = (
    [
      ['CACHE_TASK_FRESH_MS', 'CACHE_TASK_TIME_MS'],
      ['CACHE_TASK_LIST_FRESH_MS', 'CACHE_TASK_LIST_TIME_MS'],
      ['CACHE_USER_STATS_FRESH_MS', 'CACHE_USER_STATS_TIME_MS'],
    ] as const
  )
    .filter(([fresh, time]) => config[time] > 0 && config[fresh] > config[time])
    .map(([fresh, time]) => ({ variable: fresh, message: `must not exceed ${time} (${config[time]})` }));
  if (issues.length > 0) throw new ConfigError('query-service', issues);
  return config;
};

export type QueryServiceConfig = ReturnType<typeof loadQueryServiceConfig>;
