import { counter, cqrsMetric, histogram, MS_BUCKETS } from '@cqrs/observability';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import pRetry, { AbortError } from 'p-retry';
import { toConsumedRecord, type ConsumedRecord } from './consumed-record';

/** Structured logger (pino's signature); the consumer logs retries, commits that failed and crashes. */
export interface ConsumerLogger {
  debug?(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** What a handler knows about the attempt it is making on a batch. */
export interface BatchAttempt {
  /** 1 for the first attempt, then +1 per retry. */
  attempt: number;
  /** When the batch first failed; undefined on the first attempt. */
  firstFailedAt?: Date;
  /** Aborted when the consumer stops: give up and let the batch be redelivered. */
  signal: AbortSignal;
}

/**
 * Applies one partition's batch (records in offset order). Resolve only once the effects are
 * durable: the consumer then commits the offset after the last record. Throw to have the batch
 * retried with backoff; a handler must itself route poison records elsewhere (a DLQ), because
 * nothing is ever skipped here.
 */
export type BatchHandler = (records: ConsumedRecord[], attempt: BatchAttempt) => Promise<void>;

export interface BatchConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  handler: BatchHandler;
  /** Names the consumer in metrics and logs, e.g. `projector`. */
  name: string;
  /** Where a group without committed offsets starts. @default true (a projection needs the whole history) */
  fromBeginning?: boolean;
  /** Partitions processed at once by this instance. @default 1 */
  partitionsConsumedConcurrently?: number;
  /** Largest fetch per partition, i.e. the batch size in bytes. @default 1048576 */
  maxBytesPerPartition?: number;
  /** @default 30000 */
  sessionTimeoutMs?: number;
  /**
   * Offsets of applied batches are committed in the background every this many ms (one request
   * for all partitions) instead of after each batch, which takes a broker round trip out of every
   * batch. A crash redelivers at most this much, which the handler's idempotence absorbs.
   * 0 commits after every batch. @default 500
   */
  commitIntervalMs?: number;
  /** Backoff between attempts: exponential from `minTimeoutMs` to `maxTimeoutMs`, with jitter. */
  retry?: { minTimeoutMs?: number; maxTimeoutMs?: number; factor?: number };
  logger?: ConsumerLogger;
}

const silent: ConsumerLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

const retries = cqrsMetric('cqrs_retry_attempts_total');
const batches = histogram(
  'cqrs_consumer_batch_duration_ms',
  'Time to apply and commit one batch, by consumer.',
  MS_BUCKETS,
  ['consumer'],
);
const consumed = counter('cqrs_consumer_records_total', 'Records handled and committed, by consumer and topic.', [
  'consumer',
  'topic',
]);

/** How often a running batch asks kafkajs to heartbeat (it sends once per heartbeat interval, 3 s). */
const HEARTBEAT_TICK_MS = 1_000;

const codeOf = (error: unknown) => {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'UNKNOWN';
};

/**
 * A Kafka consumer group member that hands each partition's batch to a handler and commits the
 * offset only after the handler resolved, i.e. after its effects are durable (at-least-once
 * delivery; the handler makes effects idempotent). Failed batches are retried in place with
 * exponential backoff and jitter, forever, so a partition never skips a record.
 *
 * Built on kafkajs directly rather than `@nestjs/microservices`: its Kafka transport hands
 * handlers one message at a time, which rules out one database transaction per batch.
 */
export class BatchConsumer {
  private readonly consumer: Consumer;
  private readonly logger: ConsumerLogger;
  private abort = new AbortController();
  private crashed: Error | undefined;
  private assigned: Record<string, number[]> = {};
  private started = false;
  /** Next offset to commit per `topic/partition`, for batches whose effects are durable. */
  private readonly pending = new Map<string, { topic: string; partition: number; offset: string }>();
  private flusher: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly options: BatchConsumerOptions) {
    this.logger = options.logger ?? silent;
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
      allowAutoTopicCreation: false,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.assigned = e.payload.memberAssignment;
      this.logger.info({ groupId: options.groupId, assignment: e.payload.memberAssignment }, 'partitions assigned');
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.crashed = e.payload.error;
      this.logger.error(
        { err: e.payload.error, restart: e.payload.restart, groupId: options.groupId },
        'consumer crashed',
      );
    });
  }

  /** Partitions this member holds, by topic (as of the last rebalance). */
  get assignment(): Readonly<Record<string, number[]>> {
    return this.assigned;
  }

  /** Undefined while healthy; the error when the consumer stopped for good. */
  get failure(): Error | undefined {
    return this.crashed;
  }

  /** Joins the group and starts consuming; resolves once running. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.abort = new AbortController();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning ?? true });
    const interval = this.options.commitIntervalMs ?? 500;
    if (interval > 0) {
      this.flusher = setInterval(() => void this.flush(), interval);
      this.flusher.unref();
    }
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /** Leaves the group after the batches in progress (a batch waiting to retry is abandoned, uncommitted). */
  async stop(): Promise<void> {
    this.abort.abort();
    if (!this.started) return;
    this.started = false;
    clearInterval(this.flusher);
    // Commit while still a member (kafkajs ignores commits once stopping); a batch that finishes
    // during the stop is redelivered to the next owner, which its idempotence absorbs.
    await this.flush();
    await this.consumer.disconnect();
  }

  /** Commits the offsets of every batch applied since the last flush, in one request. */
  private flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = [...this.pending.entries()];
      // Taken off before the attempt (keeping what a newer batch queued meanwhile): a commit that
      // fails (e.g. for a partition revoked by a rebalance) must not block every later commit, and
      // losing it only means some redelivery, which the handler's idempotence absorbs.
      for (const [key, o] of batch) if (this.pending.get(key) === o) this.pending.delete(key);
      try {
        await this.consumer.commitOffsets(batch.map(([, o]) => o));
      } catch (error) {
        this.logger.warn({ err: error }, 'offset commit failed; those records may be redelivered');
      }
    });
    return this.flushing;
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const started = performance.now();
    const records = batch.messages.map((m) => toConsumedRecord(batch.topic, batch.partition, m));
    const signal = this.abort.signal;
    let firstFailedAt: Date | undefined;
    const { minTimeoutMs = 100, maxTimeoutMs = 10_000, factor = 2 } = this.options.retry ?? {};
    // kafkajs heartbeats only between fetches or when asked: a batch (with its retries and their
    // backoff) longer than the session timeout would otherwise cost the partition, a rebalance
    // and a redelivery. heartbeat() itself sends at most one request per heartbeat interval.
    const heartbeats = setInterval(() => void payload.heartbeat().catch(() => undefined), HEARTBEAT_TICK_MS);
    heartbeats.unref();
    try {
      await pRetry(
        (attempt) => {
          if (!payload.isRunning() || payload.isStale())
            throw new AbortError('the partition was revoked or the consumer stopped');
          return this.options.handler(records, { attempt, firstFailedAt, signal });
        },
        {
          retries: Infinity,
          factor,
          minTimeout: minTimeoutMs,
          maxTimeout: maxTimeoutMs,
          randomize: true,
          signal,
          onFailedAttempt: async ({ error, attemptNumber }) => {
            firstFailedAt ??= new Date();
            retries.inc({ consumer: this.options.name, code: codeOf(error) });
            const level = (error as { retriable?: boolean }).retriable === false ? 'error' : 'warn';
            this.logger[level](
              {
                err: error,
                retries: attemptNumber,
                error_code: codeOf(error),
                topic: batch.topic,
                partition: batch.partition,
                offset: batch.firstOffset(),
              },
              `batch failed, retrying: ${error.message}`,
            );
          },
        },
      );
    } catch (error) {
      // Stopped or revoked: leave the batch uncommitted for whoever consumes the partition next.
      this.logger.info(
        { topic: batch.topic, partition: batch.partition, reason: (error as Error).message },
        'batch abandoned',
      );
      return;
    } finally {
      clearInterval(heartbeats);
    }
    const last = batch.lastOffset();
    payload.resolveOffset(last);
    const next = { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() };
    this.pending.set(`${batch.topic}/${batch.partition}`, next);
    if ((this.options.commitIntervalMs ?? 500) === 0) await this.flush();
    await payload.heartbeat().catch(() => undefined);
    consumed.inc({ consumer: this.options.name, topic: batch.topic }, records.length);
    batches.observe({ consumer: this.options.name }, performance.now() - started);
  }
}
