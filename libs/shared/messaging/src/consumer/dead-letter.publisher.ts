import { cqrsMetric, withoutTracing } from '@cqrs/observability';
import { Partitioners, type Admin, type IHeaders, type Kafka, type Producer } from 'kafkajs';
import { printableText, type ConsumedRecord } from './consumed-record';
import { createMissingTopics } from './topics';

/**
 * Headers a dead letter carries besides the original record's own (names as Kafka header keys).
 * Operators and tools rely on them: they are a contract, like the topic's own headers.
 */
export const DLQ_HEADERS = {
  /** Why the record was not applied, e.g. `UNKNOWN_SCHEMA`, `INVARIANT_VIOLATED`, `PARKED_BEHIND`. */
  reason: 'dlq-reason',
  /** The stable error code, e.g. `UNKNOWN_SCHEMA_ID`. */
  errorCode: 'dlq-error-code',
  errorMessage: 'dlq-error-message',
  sourceTopic: 'dlq-source-topic',
  sourcePartition: 'dlq-source-partition',
  sourceOffset: 'dlq-source-offset',
  /** Attempts made before giving up. */
  attempts: 'dlq-attempts',
  /** ISO-8601 instant of the first failure. */
  firstFailureAt: 'dlq-first-failure-at',
} as const;

/** Suffix of a topic's dead-letter topic: `tasks.task.events` → `tasks.task.events.dlq`. */
export const DLQ_SUFFIX = '.dlq';

/** A record that will not be applied, and why. */
export interface DeadLetter {
  /**
   * The original record (its timestamp is not carried over: the DLQ record gets its own). Its
   * `rawHeaders`, when known, are published as they came; otherwise its text `headers`.
   */
  record: Pick<ConsumedRecord, 'topic' | 'partition' | 'offset' | 'key' | 'value' | 'headers' | 'rawHeaders'>;
  reason: string;
  errorCode: string;
  errorMessage: string;
  attempts: number;
  firstFailedAt: Date;
}

const published = cqrsMetric('cqrs_dlq_messages_total');

/**
 * A record's headers as kafkajs can produce them. A header may have a null value on the wire (the
 * relay and Debezium write one for an outbox column that is NULL), which kafkajs reads as `null`
 * but cannot encode: it throws, and the whole batch with it. A null header is left out of the
 * dead letter (absent and null mean the same to every reader here); the parked row keeps it.
 */
export function producibleHeaders(headers: IHeaders): IHeaders {
  const kept: IHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) {
      const values = value.filter((v) => v !== null && v !== undefined);
      if (values.length > 0) kept[name] = values;
    } else kept[name] = value;
  }
  return kept;
}

/**
 * Publishes dead letters to `<topic>.dlq`: the original key, value and headers, untouched, plus
 * the {@link DLQ_HEADERS}. Same key, so one aggregate's dead letters stay in order too.
 */
export class DeadLetterPublisher {
  private readonly producer: Producer;
  private readonly admin: Admin;

  constructor(private readonly kafka: Kafka) {
    // Idempotent with acks=all: a dead letter acknowledged is a dead letter kept, once.
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.admin = kafka.admin();
  }

  private connected: Promise<void> | undefined;

  /** Connects once; safe to call again (e.g. before each use), retrying after a failure. */
  connect(): Promise<void> {
    this.connected ??= Promise.all([this.producer.connect(), this.admin.connect()]).then(
      () => undefined,
      (error: unknown) => {
        this.connected = undefined;
        throw error;
      },
    );
    return this.connected;
  }

  async disconnect(): Promise<void> {
    this.connected = undefined;
    await Promise.all([this.producer.disconnect(), this.admin.disconnect()]);
  }

  /**
   * Creates the dead-letter topics of `sourceTopics` that do not exist yet (same partition count),
   * with the broker's default retention: unlike the event topics they need no history, every
   * letter is also a parked row in the read database.
   */
  async ensureTopics(sourceTopics: string[]): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    const sources = sourceTopics.filter((t) => existing.has(t) && !existing.has(t + DLQ_SUFFIX));
    if (sources.length === 0) return;
    const metadata = await this.admin.fetchTopicMetadata({ topics: sources });
    for (const t of metadata.topics) await createMissingTopics(this.admin, [t.name + DLQ_SUFFIX], t.partitions.length);
  }

  /** Publishes the letters and resolves once every one is acknowledged by all in-sync replicas. */
  async publish(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const byTopic = new Map<string, DeadLetter[]>();
    for (const letter of letters) {
      const topic = letter.record.topic + DLQ_SUFFIX;
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), letter]);
    }
    // Untraced: the kafkajs instrumentation would replace each letter's `traceparent` with its own
    // send span's, losing the way back to the command that wrote the event.
    await withoutTracing(() =>
      this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, group]) => ({
          topic,
          messages: group.map((l) => ({
            key: l.record.key,
            value: l.record.value,
            headers: {
              ...producibleHeaders(l.record.rawHeaders ?? l.record.headers),
              [DLQ_HEADERS.reason]: l.reason,
              [DLQ_HEADERS.errorCode]: l.errorCode,
              [DLQ_HEADERS.errorMessage]: printableText([...l.errorMessage].slice(0, 2_000).join('')),
              [DLQ_HEADERS.sourceTopic]: l.record.topic,
              [DLQ_HEADERS.sourcePartition]: String(l.record.partition),
              [DLQ_HEADERS.sourceOffset]: l.record.offset,
              [DLQ_HEADERS.attempts]: String(l.attempts),
              [DLQ_HEADERS.firstFailureAt]: l.firstFailedAt.toISOString(),
            },
          })),
        })),
      }),
    );
    for (const l of letters) published.inc({ topic: l.record.topic, reason: l.reason });
  }
}
