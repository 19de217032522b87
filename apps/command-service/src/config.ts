import { collectConfig, env, loadConfig } from '@cqrs/config';
import { apiServiceConfig } from '@cqrs/http';
import { schemaRegistryAccessFromEnv } from '@cqrs/messaging';

/**
 * Read once at start-up; the defaults match `npm start` on the local stack. The registry's CA
 * bundle and secret files are read here, so a missing one stops the start with its variable.
 */
export const loadCommandServiceConfig = (source: NodeJS.ProcessEnv = process.env) => {
  const { settings, registryAccess } = collectConfig('command-service', {
    settings: () => loadSettings(source),
    registryAccess: () => schemaRegistryAccessFromEnv(source),
  });
  return { ...settings, schemaRegistry: { url: settings.SCHEMA_REGISTRY_URL, ...registryAccess } };
};

const loadSettings = (source: NodeJS.ProcessEnv) =>
  loadConfig(
    'command-service',
    {
      ...apiServiceConfig(3000, 9000),
      DATABASE_URL: env.url('postgres://cqrs_command:cqrs@127.0.0.1:5433/cqrs_write'),
      DATABASE_POOL_SIZE: env.int(10, 1),
      /**
       * How long a command waits for a pooled connection (or a new one to connect) before it is
       * answered 503 EVENT_STORE_UNAVAILABLE with Retry-After: overload sheds instead of queueing.
       */
      DATABASE_ACQUIRE_TIMEOUT_MS: env.int(2_000, 1),
      /** Also SCHEMA_REGISTRY_CA_FILE, _USERNAME, _PASSWORD, _TOKEN: see `schemaRegistryAccessFromEnv`. */
      SCHEMA_REGISTRY_URL: env.url('https://127.0.0.1:8081/apis/ccompat/v7'),
      /** Write a snapshot every N events of a stream; 0 turns snapshots off. */
      SNAPSHOT_EVERY: env.int(100, 0),
      /** Delete outbox rows in the transaction that wrote them (CDC reads the WAL, not the table). */
      OUTBOX_DELETE_ROWS: env.bool(true),
      /**
       * Aggregates (folded task states) kept in memory between commands; 0 turns the cache off.
       * Safe with many replicas: a stale entry fails the append's version guard and is reloaded.
       */
      AGGREGATE_CACHE_SIZE: env.int(10_000, 0),
      /**
       * Group commit: appends arriving while this many append calls are in flight wait and go
       * together in the next one (one round trip and one commit); 0 sends each alone. Keep it
       * below DATABASE_POOL_SIZE, which loads share.
       */
      APPENDS_IN_FLIGHT: env.int(4, 0),
      /**
       * Most appends waiting for a group-commit call; one more is answered 503
       * EVENT_STORE_UNAVAILABLE with Retry-After at once (load is shed, not queued without bound).
       */
      APPENDS_QUEUED_MAX: env.int(1024, 1),
      /** How long an Idempotency-Key is remembered. */
      IDEMPOTENCY_TTL_MS: env.int(86_400_000, 1000),
      /**
       * Prune snapshots about this often (ms, jittered by ±20%, never two runs at once; 0: never):
       * keep the newest SNAPSHOT_KEEP per task and state schema version, drop those older than
       * SNAPSHOT_MAX_AGE_DAYS, never a task's newest. Every replica runs it; they do not conflict.
       */
      SNAPSHOT_PRUNE_INTERVAL_MS: env.int(3_600_000, 0),
      SNAPSHOT_KEEP: env.int(5, 1),
      SNAPSHOT_MAX_AGE_DAYS: env.int(90, 1),
    },
    source,
  );

export type CommandServiceConfig = ReturnType<typeof loadCommandServiceConfig>;
