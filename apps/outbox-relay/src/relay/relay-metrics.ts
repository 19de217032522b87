import { counter, gauge, histogram, SECONDS_BUCKETS } from '@cqrs/observability';

/** The relay's instruments on the shared registry (served at /metrics). */
export const relayMetrics = {
  published: counter('cqrs_events_published_total', 'Outbox events written to Kafka and acknowledged (acks=all)', ['topic']),
  publishLag: histogram(
    'cqrs_outbox_publish_lag_seconds',
    'From the outbox row timestamp to the Kafka acknowledgement of its record',
    SECONDS_BUCKETS,
  ),
  slotLag: gauge('cqrs_outbox_slot_lag_bytes', 'WAL between the server position and the slot confirmed position (WAL the slot pins)', ['slot']),
  leader: gauge('cqrs_outbox_relay_leader', '1 while this replica holds the replication slot, 0 on standby', ['slot']),
  publishFailures: counter('cqrs_outbox_publish_failures_total', 'Failed attempts to write a batch to Kafka (each is retried)'),
};
