import { counter, cqrsMetric, gauge } from '@cqrs/observability';

/** The relay's instruments on the shared registry (served at /metrics). */
export const relayMetrics = {
  // Names, labels and buckets fixed in @cqrs/observability's catalog (alerts and dashboard use them).
  published: cqrsMetric('cqrs_events_published_total'),
  publishLag: cqrsMetric('cqrs_outbox_publish_lag_seconds'),
  slotLag: cqrsMetric('cqrs_outbox_slot_lag_bytes'),
  leader: gauge('cqrs_outbox_relay_leader', '1 while this replica holds the replication slot, 0 on standby', ['slot']),
  publishFailures: counter(
    'cqrs_outbox_publish_failures_total',
    'Failed attempts to write a batch to Kafka (each is retried)',
  ),
};
