import {
  contextFromCarrier,
  linkFromCarrier,
  recordError,
  SpanKind,
  startSpan,
  type Link,
  type Span,
  type TraceCarrier,
} from '@cqrs/observability';
import { createKafka, eventTopicConfig, isTopicAuthorizationError, type KafkaSecurity } from '@cqrs/messaging/kafka';
import { logLevel, type Admin, type Kafka, type Message, type Producer, type LogEntry } from 'kafkajs';
import { installKafkajsFastPath } from './kafkajs-fast-path';
import type { OutboxRecord } from './outbox-routing';
import { partitionForKey } from './partitioner';
import type { RelayLogger } from './relay-logger';

/** Settings of {@link KafkaPublisher}. */
export interface KafkaPublisherOptions {
  brokers: string[];
  /** TLS and SASL of the connections (`kafkaSecurityFromEnv`). @default read from `process.env` */
  security?: KafkaSecurity;
  clientId: string;
  /** Create a missing topic (with `topicPartitions`) instead of failing. @default true */
  topicAutoCreate: boolean;
  /** Partitions of a topic the relay creates. @default 6 */
  topicPartitions: number;
  /** Replication factor of a topic the relay creates; -1 = the broker's default. @default -1 */
  topicReplicationFactor: number;
  /**
   * `retention.ms` of a topic the relay creates (`eventTopicConfig`: also `retention.bytes=-1`,
   * `cleanup.policy=delete`); -1 keeps every event. A topic that exists is left as it is. @default -1
   */
  topicRetentionMs?: number;
  /**
   * Idempotent producers writing side by side, partition p to producer p mod n: each keeps one
   * request in flight (per-partition order), and together they keep the broker busy while the
   * relay encodes. @default 2
   */
  producers: number;
  logger: RelayLogger;
}

/** A topic the relay must write to does not exist and it may not create it. */
/** The broker refused the relay's identity a topic for lack of an ACL: said so, naming the topics and the grant. */
export class TopicNotAuthorizedError extends Error {
  constructor(topics: string[], operation: 'write' | 'describe or create') {
    super(
      `not authorized to ${operation} topic ${topics.join(', ')}: grant the relay's Kafka identity ${operation === 'write' ? 'Write' : 'Describe and Write'} on it (an ACL)`,
    );
    this.name = 'TopicNotAuthorizedError';
  }
}

export class TopicMissingError extends Error {
  constructor(topic: string) {
    super(
      `topic ${topic} does not exist and OUTBOX_TOPIC_AUTOCREATE=false: create it (with the partitions you want) or enable auto-creation`,
    );
    this.name = 'TopicMissingError';
  }
}

/** A record with the partition it will be written to. */
export interface PartitionedRecord {
  record: OutboxRecord;
  partition: number;
}

// Errors after which an idempotent producer's sequence state is unusable: start a new producer.
const FATAL_PRODUCER_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
]);
const TOPIC_METADATA_TTL_MS = 5 * 60_000;
/** Batches of this many records or more are split across the producers; smaller ones go as one request. */
export const SPLIT_BATCHES_FROM = 256;

/**
 * Writes batches of outbox records with idempotent producers (acks=all). A large batch (a backlog)
 * is split by partition across the producers (partition mod `producers`), which write their parts
 * side by side; a small one goes through the first producer as one request. One batch is in flight
 * at a time and each producer has one request in flight, so a retried write can neither reorder a
 * partition nor, within one producer session, duplicate its records. Partitions are chosen here with Kafka's
 * Java partitioner, so batches can be sized per partition.
 */
export class KafkaPublisher {
  private readonly kafka: Pick<Kafka, 'producer' | 'admin'>;
  private admin: Admin | undefined;
  private readonly producers: (Producer | undefined)[];
  /** The producers (lanes) whose part of a batch is on Kafka, while the batch is being retried. */
  private readonly written = new WeakMap<PartitionedRecord[], Set<number>>();
  private readonly topics = new Map<string, { partitions: number; checkedAt: number }>();
  private nullKeyCounter = 0;

  /** `kafka` replaces the client built from `options` (tests). */
  constructor(
    private readonly options: KafkaPublisherOptions,
    kafka?: Pick<Kafka, 'producer' | 'admin'>,
  ) {
    this.producers = new Array<Producer | undefined>(Math.max(1, options.producers)).fill(undefined);
    const logger = options.logger;
    const fastPath = installKafkajsFastPath();
    if (!fastPath.records) {
      logger.warn(
        {},
        'kafkajs is not 2.2.4 or loaded its record encoder first: a row with a null header column will fail to publish',
      );
    } else if (!fastPath.produce || !fastPath.grouping) {
      logger.debug(
        { kafkajsFastPath: fastPath },
        'kafkajs was loaded before the relay could replace all of its produce path: publishing works, with more CPU per event',
      );
    }
    this.kafka =
      kafka ??
      createKafka({
        clientId: options.clientId,
        brokers: options.brokers,
        security: options.security,
        tuning: {
          connectionTimeout: 3000,
          requestTimeout: 30_000,
          // Our own loop retries whole batches with backoff; kafkajs only rides out short blips.
          retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
          logLevel: logLevel.WARN,
          logCreator:
            () =>
            ({ level, log }: LogEntry) => {
              const { message, ...extra } = log;
              // Expected with our own retry loop around the idempotent producer: not worth a warning.
              if (/Limiting retries for the idempotent producer/.test(message)) return;
              if (level <= logLevel.ERROR) logger.warn({ kafkajs: extra }, `kafka: ${message}`);
              else logger.debug({ kafkajs: extra }, `kafka: ${message}`);
            },
        },
      });
  }

  /** Partition count of `topic`, creating it when missing and allowed; cached for a few minutes. */
  async partitionsOf(topic: string): Promise<number> {
    const known = this.topics.get(topic);
    if (known && Date.now() - known.checkedAt < TOPIC_METADATA_TTL_MS) return known.partitions;
    const admin = await this.connectedAdmin();
    if (!(await admin.listTopics()).includes(topic)) {
      if (!this.options.topicAutoCreate) throw new TopicMissingError(topic);
      // A topic the identity may not describe is missing from the list too: the creation then says which.
      const created = await admin
        .createTopics({
          topics: [
            {
              topic,
              numPartitions: this.options.topicPartitions,
              replicationFactor: this.options.topicReplicationFactor,
              configEntries: eventTopicConfig(this.options.topicRetentionMs),
            },
          ],
          waitForLeaders: true,
        })
        .catch((error: unknown) => {
          throw isTopicAuthorizationError(error) ? new TopicNotAuthorizedError([topic], 'describe or create') : error;
        });
      if (created) {
        const retentionMs = this.options.topicRetentionMs ?? -1;
        this.options.logger.log(
          { topic, partitions: this.options.topicPartitions, retentionMs },
          `created topic ${topic}`,
        );
      }
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = metadata.topics[0]?.partitions.length ?? 0;
    if (partitions < 1) throw new Error(`topic ${topic} reports no partitions`);
    this.topics.set(topic, { partitions, checkedAt: Date.now() });
    return partitions;
  }

  /** The partition a record goes to (the Java producer's choice for its key; round robin without one). */
  partitionFor(record: OutboxRecord, partitions: number): number {
    if (record.key === null) return this.nullKeyCounter++ % partitions;
    return partitionForKey(Buffer.from(record.key, 'utf8'), partitions);
  }

  /**
   * Writes one batch; resolves when Kafka acknowledged every record (acks=all). When a producer's
   * part fails, the others' parts still complete, and a retry of the same batch writes only the
   * parts not yet acknowledged.
   */
  async send(batch: PartitionedRecord[]): Promise<void> {
    // A small batch (light traffic) is one request: splitting it would only add requests. Only one
    // batch is in flight at a time, so a partition may change producers between batches without
    // losing its order; a retry of the same batch splits it the same way.
    const lanes = batch.length < SPLIT_BATCHES_FROM ? 1 : this.producers.length;
    const parts = new Map<number, PartitionedRecord[]>();
    for (const entry of batch) {
      const lane = entry.partition % lanes;
      let part = parts.get(lane);
      if (!part) parts.set(lane, (part = []));
      part.push(entry);
    }
    let written = this.written.get(batch);
    const results = await Promise.allSettled(
      [...parts]
        .filter(([lane]) => !written?.has(lane))
        .map(async ([lane, part]) => {
          await this.sendPart(lane, part);
          return lane;
        }),
    );
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failure) {
      this.written.delete(batch);
      return;
    }
    if (!written) this.written.set(batch, (written = new Set()));
    for (const result of results) if (result.status === 'fulfilled') written.add(result.value);
    throw failure.reason;
  }

  private async sendPart(lane: number, part: PartitionedRecord[]): Promise<void> {
    const spans = publishSpans(part);
    try {
      await this.write(lane, part);
    } catch (error) {
      for (const span of spans) recordError(span, error);
      throw error;
    } finally {
      for (const span of spans) span.end();
    }
  }

  private async write(lane: number, batch: PartitionedRecord[]): Promise<void> {
    const producer = await this.connectedProducer(lane);
    const byTopic = new Map<string, Message[]>();
    for (const { record, partition } of batch) {
      let messages = byTopic.get(record.topic);
      if (!messages) byTopic.set(record.topic, (messages = []));
      messages.push({
        key: record.key,
        value: record.value,
        partition,
        // kafkajs writes an undefined header value as a null header, as Debezium does for a null column.
        headers: record.headers as Message['headers'],
        timestamp: record.timestampMs === null ? undefined : String(record.timestampMs),
      });
    }
    try {
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (error) {
      // A topic may have been deleted or repartitioned: look it up again before the retry.
      this.topics.clear();
      const type =
        (error as { type?: string; cause?: { type?: string } }).type ??
        (error as { cause?: { type?: string } }).cause?.type;
      if (type && FATAL_PRODUCER_ERRORS.has(type)) await this.dropProducer(lane, `producer state lost (${type})`);
      if (isTopicAuthorizationError(error)) throw new TopicNotAuthorizedError([...byTopic.keys()], 'write');
      throw error;
    }
  }

  /** Drops the producers so the next send starts new producer ids (after repeated failures). */
  async resetProducer(reason: string): Promise<void> {
    await Promise.all(this.producers.map((_, lane) => this.dropProducer(lane, reason)));
  }

  async close(): Promise<void> {
    await Promise.all(this.producers.map((_, lane) => this.dropProducer(lane)));
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
  }

  private async dropProducer(lane: number, reason?: string): Promise<void> {
    const producer = this.producers[lane];
    if (!producer) return;
    if (reason) this.options.logger.warn({ reason, producer: lane }, `restarting Kafka producer ${lane}: ${reason}`);
    this.producers[lane] = undefined;
    await producer.disconnect().catch(() => undefined);
  }

  private async connectedProducer(lane: number): Promise<Producer> {
    let producer = this.producers[lane];
    if (!producer) {
      producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      this.producers[lane] = producer;
    }
    return producer;
  }

  private async connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }
}

/**
 * The `outbox.publish` span of one produce request, from the request to the brokers'
 * acknowledgement, as OpenTelemetry's messaging conventions describe a batch send:
 * - one traced record (a quiet system, and every single command): the span is a child of the
 *   context its outbox row stored (the command's span), with the record's key, id and type;
 * - several: one span for the request, a root with a link to each record's context. A span per
 *   record, each under its own trace, cost the relay as much CPU as the rest of its tracing
 *   together (bench/tracing.bench.ts); the links keep every command reachable from the request.
 * The record's `traceparent` header itself is forwarded untouched, as Debezium does, so consumers
 * continue the command's trace whichever relay published it. Untraced rows get no span.
 */
function publishSpans(batch: PartitionedRecord[]): Span[] {
  const traced = batch.filter(({ record }) => record.headers['traceparent']);
  if (traced.length === 0) return [];
  const topics = new Set(batch.map(({ record }) => record.topic));
  const common = {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'send',
    ...(topics.size === 1 ? { 'messaging.destination.name': batch[0]!.record.topic } : {}),
    'messaging.batch.message_count': batch.length,
  };
  const carrierOf = ({ record }: PartitionedRecord): TraceCarrier => ({
    traceparent: record.headers['traceparent']!,
    tracestate: record.headers['tracestate'] ?? undefined,
  });
  if (traced.length === 1) {
    const only = traced[0]!;
    const { record, partition } = only;
    return [
      startSpan('outbox.publish', {
        kind: SpanKind.PRODUCER,
        parent: contextFromCarrier(carrierOf(only)),
        attributes: {
          ...common,
          'messaging.destination.name': record.topic,
          'messaging.destination.partition.id': String(partition),
          ...(record.key === null ? {} : { 'messaging.kafka.message.key': record.key }),
          ...(record.headers['id'] ? { 'messaging.message.id': record.headers['id'] } : {}),
          ...(record.headers['eventType'] ? { 'cqrs.event.type': record.headers['eventType'] } : {}),
        },
      }),
    ];
  }
  const links = traced
    .map((entry) => linkFromCarrier(carrierOf(entry)))
    .filter((link): link is Link => link !== undefined);
  return [startSpan('outbox.publish', { kind: SpanKind.PRODUCER, root: true, links, attributes: common })];
}
