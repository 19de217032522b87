import { collectConfig, ConfigError, env, loadConfig } from '@cqrs/config';
import { commonServiceConfig } from '@cqrs/http';
import {
  EVENT_TOPIC_RETENTION_FOREVER,
  EVENT_TOPIC_RETENTION_RULE,
  isEventTopicRetention,
  kafkaSecurityFromEnv,
} from '@cqrs/messaging/kafka';
import { z } from 'zod';
import { compileTopicReplacement, parseHeaderPlacement } from './relay/outbox-routing';

/** Debezium-compatible default: the outbox's extra columns as camel-cased headers. */
export const DEFAULT_HEADER_PLACEMENT =
  'aggregateversion:header:aggregateVersion,traceparent:header:traceparent,tracestate:header:tracestate,correlationid:header:correlationId';

/** A setting checked by a parser that throws readable messages (placement, topic replacement). */
const parsed = <T>(fallback: string, parse: (value: string) => T) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      try {
        return { text: value, value: parse(value) };
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

/**
 * The relay's environment, read once at start-up; the defaults match `npm start` on the local
 * stack. A bad value stops the process with exit status 2 and a message naming the variable.
 */
export const loadOutboxRelayConfig = (source: NodeJS.ProcessEnv = process.env) => {
  const { settings, kafkaSecurity } = collectConfig('outbox-relay', {
    settings: () => checkTimeouts(loadSettings(source)),
    // TLS and SASL of the Kafka connections (KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_*, KAFKA_SASL_*); files are read here.
    kafkaSecurity: () => kafkaSecurityFromEnv(source),
  });
  return { ...settings, kafkaSecurity };
};

const loadSettings = (source: NodeJS.ProcessEnv) =>
  loadConfig(
    'outbox-relay',
    {
      ...commonServiceConfig(3003),
      /** A role with REPLICATION on the outbox database (never the owner or a superuser). */
      DATABASE_URL: env.url('postgres://cqrs_relay:cqrs@127.0.0.1:5433/cqrs_write'),
      KAFKA_BROKERS: env.list('127.0.0.1:9092'),
      /** The relay's own slot; Debezium (connect/) uses another, so both can run. */
      OUTBOX_SLOT_NAME: z
        .string()
        .default('cqrs_outbox_relay')
        .pipe(z.string().regex(/^[a-z0-9_]{1,63}$/, 'a slot name is 1-63 lower-case letters, digits or underscores')),
      /** Created by the event-store migrations (FOR TABLE outbox WITH (publish = 'insert')). */
      OUTBOX_PUBLICATION: env.string('cqrs_outbox'),
      /** Create the slot when missing. Set false where a lost slot (failover) must stop the relay instead. */
      OUTBOX_SLOT_AUTOCREATE: env.bool(true),
      OUTBOX_TOPIC_REPLACEMENT: parsed('${aggregatetype}.events', (v) => (compileTopicReplacement(v, ''), v)),
      OUTBOX_HEADER_PLACEMENT: parsed(DEFAULT_HEADER_PLACEMENT, (v) => parseHeaderPlacement(v, '')),
      /** Create a missing topic; when false a missing topic is an error the relay waits on. */
      OUTBOX_TOPIC_AUTOCREATE: env.bool(true),
      OUTBOX_TOPIC_PARTITIONS: env.int(6, 1),
      /** -1 = the broker's default.replication.factor. */
      OUTBOX_TOPIC_REPLICATION_FACTOR: z.coerce.number().int().min(-1).default(-1),
      /**
       * `retention.ms` of the event topics the relay creates (with `retention.bytes=-1`,
       * `cleanup.policy=delete`): -1 keeps every event, or a bounded retention of an hour or more
       * (docs/architecture.md, "Event topics keep their history"). A topic that exists keeps its own.
       */
      EVENT_TOPIC_RETENTION_MS: z.coerce
        .number()
        .int()
        .refine(isEventTopicRetention, EVENT_TOPIC_RETENTION_RULE)
        .default(EVENT_TOPIC_RETENTION_FOREVER),
      OUTBOX_BATCH_MAX_EVENTS: env.int(2000, 1),
      /**
       * Idempotent producers writing a large batch (a backlog) side by side, split by partition
       * (partition p by producer p mod n, each with one request in flight, so every partition keeps
       * its order); a small batch is one request. 1 = one request at a time.
       */
      OUTBOX_PRODUCERS: z.coerce.number().int().min(1).max(16).default(2),
      /** Per partition per request; below the broker's default message.max.bytes (1 MiB). */
      OUTBOX_BATCH_MAX_PARTITION_BYTES: env.int(900_000, 1024),
      /** Rows read ahead of Kafka before the replication socket is paused. */
      OUTBOX_MAX_BUFFERED_EVENTS: env.int(20_000, 1),
      /** Standby status updates to Postgres; well under OUTBOX_WAL_SENDER_TIMEOUT_MS. */
      OUTBOX_STATUS_INTERVAL_MS: env.int(1000, 100),
      /**
       * The leader session's wal_sender_timeout: a leader silent this long (frozen, partitioned,
       * its host gone) loses the slot, and a standby or a restarted relay takes over. The server's
       * default is 60 s; shorter is safe while it is several status intervals (the relay answers
       * every OUTBOX_STATUS_INTERVAL_MS, and the server asks for a reply at half the timeout).
       */
      OUTBOX_WAL_SENDER_TIMEOUT_MS: env.int(10_000, 2000),
      /**
       * At most this often an acknowledged position is reported to Postgres (it may then recycle
       * that WAL); 0 reports every acknowledgement at once. Debezium reports on each offset flush.
       */
      OUTBOX_CONFIRM_INTERVAL_MS: z.coerce.number().int().min(0).default(100),
      /**
       * While rows arrive within this long of the last send, wait this long for more before the
       * next one, so rows of concurrent transactions share one request (the Kafka producer's
       * linger.ms, 5 ms by default since Kafka 4.0); a row after a quiet moment goes at once.
       * 0 never waits.
       */
      OUTBOX_LINGER_MS: z.coerce.number().int().min(0).max(1000).default(5),
      OUTBOX_STANDBY_POLL_MS: env.int(1000, 100),
      OUTBOX_RETRY_MAX_MS: env.int(30_000, 100),
      OUTBOX_DRAIN_TIMEOUT_MS: env.int(10_000, 0),
      /**
       * Binary column values from pgoutput (PostgreSQL 14+): payload bytes arrive raw, not as hex
       * text, which costs the walsender and the relay less per row. `false` for older servers.
       */
      OUTBOX_BINARY_TUPLES: env.bool(true),
    },
    source,
  );

export type OutboxRelayConfig = ReturnType<typeof loadOutboxRelayConfig>;

/** The walsender asks for a reply at half its timeout: status updates must come well within that. */
function checkTimeouts<C extends ReturnType<typeof loadSettings>>(config: C): C {
  if (config.OUTBOX_WAL_SENDER_TIMEOUT_MS < 3 * config.OUTBOX_STATUS_INTERVAL_MS) {
    throw new ConfigError('outbox-relay', [
      {
        variable: 'OUTBOX_WAL_SENDER_TIMEOUT_MS',
        message: `must be at least 3 x OUTBOX_STATUS_INTERVAL_MS (${config.OUTBOX_STATUS_INTERVAL_MS} ms), or a busy leader could lose the slot`,
      },
    ]);
  }
  return config;
}
