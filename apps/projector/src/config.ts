import { collectConfig, env, loadConfig } from '@cqrs/config';
import { authConfig, commonServiceConfig } from '@cqrs/http';
import {
  EVENT_TOPIC_RETENTION_FOREVER,
  EVENT_TOPIC_RETENTION_RULE,
  isEventTopicRetention,
  kafkaSecurityFromEnv,
  schemaRegistryAccessFromEnv,
} from '@cqrs/messaging';
import { z } from 'zod';

// What Kafka allows in topic names (and we in group ids), so a prefix cannot make an invalid name.
const KAFKA_NAME_PREFIX = /^[A-Za-z0-9._-]{0,100}$/;
const KAFKA_NAME_RULE = 'letters, digits, ".", "_" and "-" only, at most 100';

const shape = {
  ...commonServiceConfig(3002),
  /**
   * Callers of the admin API (`/admin/cqrs/*`) bring a bearer token of this issuer and audience
   * holding AUTH_ADMIN_ROLE; health, metrics and the OpenAPI document on the same port need none.
   */
  ...authConfig(),
  /** The read database as a role with DML only (`cqrs_projector`). */
  DATABASE_URL: env.url('postgres://cqrs_projector:cqrs@127.0.0.1:5433/cqrs_read'),
  DATABASE_POOL_SIZE: env.int(6, 2),
  /** Also KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_*, KAFKA_SASL_* (TLS and authentication): see `kafkaSecurityFromEnv`. */
  KAFKA_BROKERS: env.list('127.0.0.1:9092'),
  /** Also SCHEMA_REGISTRY_CA_FILE, _USERNAME, _PASSWORD, _TOKEN: see `schemaRegistryAccessFromEnv`. */
  SCHEMA_REGISTRY_URL: env.url('https://127.0.0.1:8081/apis/ccompat/v7'),
  /** Topics projected (each event type's topic, `${aggregatetype}.events`). */
  PROJECTOR_TOPICS: env.list('tasks.task.events'),
  /**
   * Create a missing topic (with PROJECTOR_TOPIC_PARTITIONS, as the relay would) instead of
   * waiting for the first event: `npm start` on an empty system then comes up ready.
   */
  PROJECTOR_TOPIC_AUTOCREATE: env.bool(true),
  PROJECTOR_TOPIC_PARTITIONS: env.int(6, 1),
  /**
   * `retention.ms` of the topics it creates, as the relay's (with `retention.bytes=-1`,
   * `cleanup.policy=delete`): -1 keeps every event, or a bounded retention of an hour or more
   * (docs/architecture.md, "Event topics keep their history"). Dead-letter topics keep the
   * broker's default; a topic that exists keeps its own settings.
   */
  EVENT_TOPIC_RETENTION_MS: z.coerce
    .number()
    .int()
    .refine(isEventTopicRetention, EVENT_TOPIC_RETENTION_RULE)
    .default(EVENT_TOPIC_RETENTION_FOREVER),
  /**
   * Prefix of the topics the other contexts' stream projections consume (their contracts name
   * `<context>.<aggregate>.events`): set it to what the relay's OUTBOX_TOPIC_REPLACEMENT (or the
   * connector's routing) puts before the topic names, as PROJECTOR_TOPICS does for tasks.
   */
  PROJECTOR_STREAM_TOPIC_PREFIX: z.string().regex(KAFKA_NAME_PREFIX, KAFKA_NAME_RULE).default(''),
  /** Prefix of the stream projections' consumer groups (`<prefix><context>-projector.<projection>`). */
  PROJECTOR_STREAM_GROUP_PREFIX: z.string().regex(KAFKA_NAME_PREFIX, KAFKA_NAME_RULE).default(''),
  /** Consumer groups are `<prefix>.g<generation>`: a rebuild consumes under a new group. */
  PROJECTOR_GROUP_PREFIX: env.string('tasks-projector'),
  /**
   * Partitions worked at once by one instance; the batches of one fetch share a transaction, so
   * at least the partitions an instance holds (6 by default) lets each fetch cost one transaction.
   */
  PROJECTOR_CONCURRENCY: env.int(6, 1),
  /** Largest fetch per partition, i.e. the most bytes one batch (one transaction) holds. */
  PROJECTOR_MAX_BATCH_BYTES: env.int(1_048_576, 1024),
  /** Attempts at a batch whose events are ahead of their stream before they are parked. */
  PROJECTOR_GAP_RETRIES: env.int(3, 0),
  PROJECTOR_RETRY_MIN_MS: env.int(100, 1),
  PROJECTOR_RETRY_MAX_MS: env.int(10_000, 1),
  /**
   * How long the group waits for a silent member before handing its partitions to the others: a
   * crashed projector's partitions (and a restarted one's start) wait this long. Kafka's classic
   * 10 s; the projector heartbeats after every batch, so only a batch longer than this would cost
   * a rebalance.
   */
  PROJECTOR_SESSION_TIMEOUT_MS: env.int(10_000, 6_000),
  /** How often the projector checks whether a rebuild activated another generation. */
  PROJECTOR_GENERATION_CHECK_MS: env.int(2_000, 50),
  /**
   * Readiness turns false while the group is more than this many records behind on its topics
   * (a projector catching up is alive, but its read models are stale); 0 turns the check off.
   */
  PROJECTOR_READY_MAX_LAG: env.int(10_000, 0),
  /**
   * The event store (the write database) as a role that may only read `events` and
   * `events_archive` (`cqrs_projector`): rebuilds and reconciliation read the store, the source
   * of truth, instead of depending on how long Kafka keeps the topic.
   */
  EVENT_STORE_DATABASE_URL: env.url('postgres://cqrs_projector:cqrs@127.0.0.1:5433/cqrs_write'),
  /**
   * The outbox relay's replication slot (the relay's OUTBOX_SLOT_NAME): `GET /admin/cqrs/relay`
   * reports it as PostgreSQL sees it, through EVENT_STORE_DATABASE_URL.
   */
  OUTBOX_SLOT_NAME: z
    .string()
    .regex(/^[a-z0-9_]{1,63}$/, 'a slot name is 1-63 lower-case letters, digits or underscores')
    .default('cqrs_outbox_relay'),
  /** The read database as its owner (DDL): only the CLI's `migrate` and `rebuild` use it. */
  MIGRATIONS_READ_DATABASE_URL: env.url('postgres://cqrs_owner:cqrs@127.0.0.1:5433/cqrs_read'),
  /**
   * The read database as its owner, for rebuilds started through the admin API (a rebuild creates
   * and drops a generation's tables). Unset (or empty): the running projector holds no owner
   * credentials and the admin API refuses rebuilds (409 REBUILD_NOT_ENABLED); the CLI still rebuilds.
   */
  ADMIN_REBUILD_DATABASE_URL: z.preprocess((v) => (v === '' ? undefined : v), z.string().url().optional()),
};

/**
 * Read once at start-up; the defaults match `npm start` on the local stack. Files the settings
 * name (CA bundles, secrets) are read here, so a missing one stops the start with its variable.
 */
export const loadProjectorConfig = (source: NodeJS.ProcessEnv = process.env) => {
  const { settings, kafkaSecurity, registryAccess } = collectConfig('projector', {
    settings: () => loadConfig('projector', shape, source),
    kafkaSecurity: () => kafkaSecurityFromEnv(source),
    registryAccess: () => schemaRegistryAccessFromEnv(source),
  });
  return { ...settings, kafkaSecurity, schemaRegistry: { url: settings.SCHEMA_REGISTRY_URL, ...registryAccess } };
};

export type ProjectorConfig = ReturnType<typeof loadProjectorConfig>;

/** The projection settings a config describes. */
export const projectionSettings = (config: ProjectorConfig) => ({
  topics: config.PROJECTOR_TOPICS,
  /** Partitions of a topic the projector creates; undefined = wait for the producer to create it. */
  createTopicsWithPartitions: config.PROJECTOR_TOPIC_AUTOCREATE ? config.PROJECTOR_TOPIC_PARTITIONS : undefined,
  eventTopicRetentionMs: config.EVENT_TOPIC_RETENTION_MS,
  groupPrefix: config.PROJECTOR_GROUP_PREFIX,
  concurrency: config.PROJECTOR_CONCURRENCY,
  maxBatchBytes: config.PROJECTOR_MAX_BATCH_BYTES,
  gapRetries: config.PROJECTOR_GAP_RETRIES,
  retry: { minTimeoutMs: config.PROJECTOR_RETRY_MIN_MS, maxTimeoutMs: config.PROJECTOR_RETRY_MAX_MS },
  sessionTimeoutMs: config.PROJECTOR_SESSION_TIMEOUT_MS,
});
