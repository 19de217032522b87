import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { hostname } from 'node:os';
import type { OutboxRelayConfig } from '../config';
import { KafkaPublisher } from './kafka-publisher';
import { OutboxRelay } from './outbox-relay';
import { OutboxRouter } from './outbox-routing';
import type { RelayLogger } from './relay-logger';

/** Builds the relay from the app config and ties it to the Nest lifecycle (start on boot, drain on SIGTERM). */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly relay: OutboxRelay;

  constructor(config: OutboxRelayConfig) {
    const nest = new Logger('OutboxRelay');
    const logger: RelayLogger = {
      debug: (context, message) => nest.debug(context, message),
      log: (context, message) => nest.log(context, message),
      warn: (context, message) => nest.warn(context, message),
      error: (context, message) => nest.error(context, message),
    };
    const applicationName = `outbox-relay@${hostname()}:${process.pid}`;
    this.relay = new OutboxRelay({
      databaseUrl: config.DATABASE_URL,
      slotName: config.OUTBOX_SLOT_NAME,
      publication: config.OUTBOX_PUBLICATION,
      slotAutoCreate: config.OUTBOX_SLOT_AUTOCREATE,
      standbyPollMs: config.OUTBOX_STANDBY_POLL_MS,
      drainTimeoutMs: config.OUTBOX_DRAIN_TIMEOUT_MS,
      walSenderTimeoutMs: config.OUTBOX_WAL_SENDER_TIMEOUT_MS,
      batchMaxEvents: config.OUTBOX_BATCH_MAX_EVENTS,
      batchMaxPartitionBytes: config.OUTBOX_BATCH_MAX_PARTITION_BYTES,
      maxBufferedEvents: config.OUTBOX_MAX_BUFFERED_EVENTS,
      statusIntervalMs: config.OUTBOX_STATUS_INTERVAL_MS,
      confirmIntervalMs: config.OUTBOX_CONFIRM_INTERVAL_MS,
      lingerMs: config.OUTBOX_LINGER_MS,
      retryMaxMs: config.OUTBOX_RETRY_MAX_MS,
      binaryTuples: config.OUTBOX_BINARY_TUPLES,
      applicationName,
      router: new OutboxRouter(config.OUTBOX_TOPIC_REPLACEMENT.text, config.OUTBOX_HEADER_PLACEMENT.value),
      publisher: new KafkaPublisher({
        brokers: config.KAFKA_BROKERS,
        security: config.kafkaSecurity,
        clientId: applicationName,
        topicAutoCreate: config.OUTBOX_TOPIC_AUTOCREATE,
        topicPartitions: config.OUTBOX_TOPIC_PARTITIONS,
        topicReplicationFactor: config.OUTBOX_TOPIC_REPLICATION_FACTOR,
        topicRetentionMs: config.EVENT_TOPIC_RETENTION_MS,
        producers: config.OUTBOX_PRODUCERS,
        logger,
      }),
      logger,
    });
  }

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}
