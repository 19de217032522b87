import type { Admin, Consumer, Kafka } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { KafkaStreams } from './kafka-streams';

/** A partition as the scan sees it. */
export interface ScannedPartition {
  topic: string;
  partition: number;
  /** Earliest offset when the scan started: above 0 means retention deleted records. */
  low: bigint;
  /** The end offset the scan reads up to (exclusive), noted when the (last) read started. */
  target: bigint;
  /** Next offset to read. */
  next: bigint;
}

export interface KafkaScanOptions {
  kafka: Kafka;
  admin: Admin;
  topics: readonly string[];
  /** A throwaway consumer group (deleted by {@link KafkaTopicScan.close}). */
  groupId: string;
  /** Fail when no partition moves for this long while some are not at their target. @default 60000 */
  stallTimeoutMs?: number;
}

const javaPartitioner = Partitioners.DefaultPartitioner();

/**
 * Reads the topics from their earliest offsets up to the end offsets noted when a read starts,
 * keys and headers only (the stream id is the key, the version the `aggregateVersion` header, the
 * event id the `id` header that the relay and Debezium's outbox router set to the outbox row's id,
 * which is the event id): no Avro value is decoded.
 *
 * kafkajs has no manual partition assignment, so it consumes in a throwaway group under the
 * projector's group prefix (which the projector's identity may use and delete). A read stops each
 * partition at its target without resolving further, and pauses it; {@link readToEnd} again
 * notes new end offsets and resumes from exactly there (the settle re-check).
 */
export class KafkaTopicScan {
  readonly streams = new KafkaStreams();
  readonly partitions = new Map<string, ScannedPartition>();
  /** Topics of the list that do not exist (read as empty). */
  missingTopics: string[] = [];
  private consumer: Consumer | undefined;
  private waiter: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private lastProgress = Date.now();
  private failure: Error | undefined;

  constructor(private readonly options: KafkaScanOptions) {}

  /** Reads every partition up to its current end offset; resolves when all got there. */
  async readToEnd(): Promise<void> {
    const existing = new Set(await this.options.admin.listTopics());
    this.missingTopics = this.options.topics.filter((t) => !existing.has(t));
    const topics = this.options.topics.filter((t) => existing.has(t));
    for (const topic of topics) {
      for (const p of await this.options.admin.fetchTopicOffsets(topic)) {
        const key = `${topic}/${p.partition}`;
        const known = this.partitions.get(key);
        if (known) known.target = BigInt(p.high);
        else
          this.partitions.set(key, {
            topic,
            partition: p.partition,
            low: BigInt(p.low),
            target: BigInt(p.high),
            next: BigInt(p.low),
          });
      }
    }
    if (this.done()) return;
    const finished = new Promise<void>((resolve, reject) => (this.waiter = { resolve, reject }));
    this.lastProgress = Date.now();
    if (!this.consumer) await this.start(topics);
    else this.consumer.resume(topics.map((topic) => ({ topic })));
    const stall = this.options.stallTimeoutMs ?? 60_000;
    const timer = setInterval(() => {
      if (this.failure) this.settle(this.failure);
      else if (Date.now() - this.lastProgress > stall) {
        const behind = [...this.partitions.values()]
          .filter((p) => p.next < p.target)
          .map((p) => `${p.topic}/${p.partition} at ${p.next} of ${p.target}`);
        this.settle(
          new Error(`reading Kafka stalled for ${Math.round(stall / 1000)} s: ${behind.slice(0, 5).join(', ')}`),
        );
      } else if (this.done()) this.settle();
    }, 250);
    try {
      await finished;
    } finally {
      clearInterval(timer);
      this.waiter = undefined;
    }
  }

  /** Whether retention deleted records from the partition `streamId` maps to (on any of the topics). */
  mayHaveLostToRetention(streamId: string): boolean {
    const counts = new Map<string, number>();
    for (const p of this.partitions.values()) counts.set(p.topic, Math.max(counts.get(p.topic) ?? 0, p.partition + 1));
    for (const [topic, n] of counts) {
      const partition = javaPartitioner({
        topic,
        partitionMetadata: Array.from({ length: n }, (_, i) => ({
          partitionId: i,
          leader: 0,
          partitionErrorCode: 0,
          replicas: [0],
          isr: [0],
        })),
        message: { key: Buffer.from(streamId), value: null },
      });
      if ((this.partitions.get(`${topic}/${partition}`)?.low ?? 0n) > 0n) return true;
    }
    return false;
  }

  /** Whether any partition had lost records to retention when the scan started. */
  get truncated(): boolean {
    return [...this.partitions.values()].some((p) => p.low > 0n);
  }

  /** Stops the consumer and deletes its group. */
  async close(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (!consumer) return;
    await consumer.disconnect().catch(() => undefined);
    // The broker may take a moment to see the member gone: a non-empty group cannot be deleted.
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        await this.options.admin.deleteGroups([this.options.groupId]);
        return;
      } catch (error) {
        const type = (error as { groups?: { error?: { type?: string } }[] }).groups?.[0]?.error?.type;
        if (type === 'GROUP_ID_NOT_FOUND') return;
        if (attempt === 5)
          throw new Error(`could not delete the consumer group ${this.options.groupId}: ${(error as Error).message}`, {
            cause: error,
          });
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  private done(): boolean {
    return [...this.partitions.values()].every((p) => p.next >= p.target);
  }

  private settle(error?: Error): void {
    if (error) this.waiter?.reject(error);
    else this.waiter?.resolve();
  }

  private async start(topics: string[]): Promise<void> {
    const consumer = this.options.kafka.consumer({
      groupId: this.options.groupId,
      allowAutoTopicCreation: false,
      maxBytes: 8 << 20,
      maxBytesPerPartition: 1 << 20,
      maxWaitTimeInMs: 250,
      sessionTimeout: 30_000,
    });
    this.consumer = consumer;
    // Batches kafkajs filters out entirely (transaction markers, aborted records) never reach
    // eachBatch, but still move the partition on.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0) return;
      const p = this.partitions.get(`${payload.topic}/${payload.partition}`);
      if (!p) return;
      const next = BigInt(payload.lastOffset) + 1n;
      if (next > p.next) p.next = next < p.target ? next : p.target;
      this.progress();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.failure = payload.error;
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, pause }) => {
        const p = this.partitions.get(`${batch.topic}/${batch.partition}`);
        if (!p) return;
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset >= p.target) {
            p.next = p.target; // nothing lies between: offsets below it all came before this one
            break;
          }
          const headers = m.headers ?? {};
          const header = (name: string) => {
            const value = headers[name];
            const first = Array.isArray(value) ? value[0] : value;
            return first === undefined || first === null ? undefined : first.toString();
          };
          this.streams.add(
            m.key && m.key.length > 0 ? m.key.toString('utf8') : null,
            header('aggregateVersion'),
            header('id'),
            p.low > 0n,
          );
          resolveOffset(m.offset);
          p.next = offset + 1n;
        }
        // Reached the target: hold here (unresolved beyond it) until the next read resumes it.
        if (p.next >= p.target) pause();
        this.progress();
        await heartbeat();
      },
    });
  }

  private progress(): void {
    this.lastProgress = Date.now();
    if (this.done()) this.settle();
  }
}
