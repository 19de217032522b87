import type { Counter, Gauge, Histogram } from 'prom-client';
import { counter, gauge, histogram, MS_BUCKETS, SECONDS_BUCKETS } from './metrics';

interface MetricDefinition {
  kind: 'counter' | 'gauge' | 'histogram';
  help: string;
  labels: readonly string[];
  buckets?: readonly number[];
  /** The app or lib that emits it (documentation, and the scrape test's expectations). */
  emittedBy: 'command-service' | 'query-service' | 'projector' | 'outbox-relay';
}

const def = <const D extends MetricDefinition>(d: D) => d;

/**
 * The `cqrs_*` / `event_*` metrics that the alert rules (`helm/cqrs/files/prometheus-rules.yaml`)
 * and the Grafana dashboard depend on: one name, one set of labels, one unit each. Create them
 * with {@link cqrsMetric}, never by hand, so a rename breaks the build instead of an alert.
 */
export const CQRS_METRICS = {
  cqrs_command_total: def({
    kind: 'counter',
    help: 'Commands handled, by type and outcome: ok, replayed, the code of a client-caused rejection (4xx), or error (5xx).',
    labels: ['type', 'status'],
    emittedBy: 'command-service',
  }),
  cqrs_command_duration_ms: def({
    kind: 'histogram',
    help: 'Command handling time in milliseconds.',
    labels: ['type'],
    buckets: MS_BUCKETS,
    emittedBy: 'command-service',
  }),
  event_store_conflicts_total: def({
    kind: 'counter',
    help: 'Appends rejected because another writer moved the stream first (optimistic concurrency).',
    labels: ['stream_type'],
    emittedBy: 'command-service',
  }),
  event_snapshots_created_total: def({
    kind: 'counter',
    help: 'Snapshots written with an append.',
    labels: ['stream_type'],
    emittedBy: 'command-service',
  }),
  event_replay_duration_seconds: def({
    kind: 'histogram',
    help: 'Time to load a stream and fold it into state, from its snapshot when it has a usable one.',
    labels: ['from_snapshot'],
    buckets: SECONDS_BUCKETS,
    emittedBy: 'command-service',
  }),
  cqrs_query_total: def({
    kind: 'counter',
    help: 'Queries answered, by type and whether the cache answered.',
    labels: ['type', 'cache_hit'],
    emittedBy: 'query-service',
  }),
  cqrs_query_duration_ms: def({
    kind: 'histogram',
    help: 'Query handling time in milliseconds, read-your-writes waits included.',
    labels: ['type', 'cache_hit'],
    buckets: MS_BUCKETS,
    emittedBy: 'query-service',
  }),
  cqrs_events_published_total: def({
    kind: 'counter',
    help: 'Outbox events written to Kafka and acknowledged (acks=all).',
    labels: ['topic'],
    emittedBy: 'outbox-relay',
  }),
  cqrs_outbox_publish_lag_seconds: def({
    kind: 'histogram',
    help: 'From the outbox row timestamp (the command commit) to the Kafka acknowledgement of its record.',
    labels: [],
    buckets: SECONDS_BUCKETS,
    emittedBy: 'outbox-relay',
  }),
  cqrs_outbox_slot_lag_bytes: def({
    kind: 'gauge',
    help: 'WAL between the server position and the slot confirmed position (WAL the slot pins).',
    labels: ['slot'],
    emittedBy: 'outbox-relay',
  }),
  cqrs_events_processed_total: def({
    kind: 'counter',
    help: 'Events the projector handled, by projection, type and outcome (applied, duplicate, parked).',
    labels: ['projection', 'type', 'status'],
    emittedBy: 'projector',
  }),
  cqrs_event_processing_duration_seconds: def({
    kind: 'histogram',
    help: 'From a batch reaching the projector to its read-model transaction committing, per event.',
    labels: ['type'],
    buckets: SECONDS_BUCKETS,
    emittedBy: 'projector',
  }),
  cqrs_consumer_lag_messages: def({
    kind: 'gauge',
    help: 'Records on the topic not yet applied by the consumer group, per partition.',
    labels: ['topic', 'partition'],
    emittedBy: 'projector',
  }),
  cqrs_retry_attempts_total: def({
    kind: 'counter',
    help: 'Attempts retried after a transient failure, by consumer and error code.',
    labels: ['consumer', 'code'],
    emittedBy: 'projector',
  }),
  cqrs_dlq_messages_total: def({
    kind: 'counter',
    help: 'Records published to a dead-letter topic, by source topic and reason.',
    labels: ['topic', 'reason'],
    emittedBy: 'projector',
  }),
  cqrs_duplicate_events_total: def({
    kind: 'counter',
    help: 'Events skipped because the read model already had their version (redeliveries).',
    labels: ['projection'],
    emittedBy: 'projector',
  }),
} as const;

export type CqrsMetricName = keyof typeof CQRS_METRICS;
type LabelOf<N extends CqrsMetricName> = (typeof CQRS_METRICS)[N]['labels'][number];
type InstrumentOf<N extends CqrsMetricName> = (typeof CQRS_METRICS)[N]['kind'] extends 'counter'
  ? Counter<LabelOf<N>>
  : (typeof CQRS_METRICS)[N]['kind'] extends 'gauge'
    ? Gauge<LabelOf<N>>
    : Histogram<LabelOf<N>>;

/** The instrument of a catalogued metric on the shared registry (idempotent, typed labels). */
export function cqrsMetric<N extends CqrsMetricName>(name: N): InstrumentOf<N> {
  const d: MetricDefinition = CQRS_METRICS[name];
  const labels = [...d.labels] as LabelOf<N>[];
  const instrument =
    d.kind === 'counter'
      ? counter(name, d.help, labels)
      : d.kind === 'gauge'
        ? gauge(name, d.help, labels)
        : histogram(name, d.help, [...(d.buckets ?? MS_BUCKETS)], labels);
  return instrument as InstrumentOf<N>;
}
