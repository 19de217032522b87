import {
  BatchConsumer,
  consumerGroupLag,
  type ConsumerLogger,
  type DeadLetterPublisher,
  type PartitionLag,
} from '@cqrs/messaging/consumer';
import { cqrsMetric } from '@cqrs/observability';
import {
  prepareProjectionTopics,
  type ProjectionControls,
  type ProjectionStatus,
  type RunningProjection,
} from '@cqrs/projection';
import { activeGeneration, BatchGroupWriter, RecordOverrides, TaskReadModelWriter } from '@cqrs/tasks-read-model';
import type { Admin, Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { refreshRebuildGauges } from '../rebuild/rebuild-gauges';
import { projectBatch } from './project-batch.handler';
import type { TaskRecordDecoder } from './task-record.decoder';

/** The consumer group that feeds generation `generation`: a rebuild is a new group from offset 0. */
export const groupIdOf = (prefix: string, generation: number) => `${prefix}.g${generation}`;

/** Settings shared by the live projection and a rebuild. */
export interface ProjectionSettings {
  topics: string[];
  /** Create missing topics with this many partitions; undefined = wait until they exist. */
  createTopicsWithPartitions?: number;
  /** `retention.ms` of the topics it creates (EVENT_TOPIC_RETENTION_MS). @default -1 (every event kept) */
  eventTopicRetentionMs?: number;
  groupPrefix: string;
  /** Partitions applied at once. */
  concurrency: number;
  /** Largest fetch per partition (the batch size). */
  maxBatchBytes: number;
  gapRetries: number;
  retry: { minTimeoutMs: number; maxTimeoutMs: number };
  /** Kafka group session timeout. @default 10000 */
  sessionTimeoutMs?: number;
}

export interface ProjectionDeps {
  pool: Pool;
  kafka: Kafka;
  decoder: TaskRecordDecoder;
  dlq: DeadLetterPublisher;
  logger: ConsumerLogger;
}

/** A consumer that applies the topic to one generation's tables. */
export function createProjectionConsumer(
  deps: ProjectionDeps,
  settings: ProjectionSettings,
  writer: TaskReadModelWriter,
  name = 'projector',
) {
  return new BatchConsumer({
    kafka: deps.kafka,
    name,
    groupId: groupIdOf(settings.groupPrefix, writer.generation),
    topics: settings.topics,
    fromBeginning: true,
    partitionsConsumedConcurrently: settings.concurrency,
    maxBytesPerPartition: settings.maxBatchBytes,
    retry: settings.retry,
    sessionTimeoutMs: settings.sessionTimeoutMs ?? 10_000,
    logger: deps.logger,
    handler: projectBatch({
      writer,
      // Partitions handed over together (one fetch) share one transaction.
      batches: new BatchGroupWriter(writer),
      decoder: deps.decoder,
      dlq: deps.dlq,
      overrides: new RecordOverrides(deps.pool),
      gapRetries: settings.gapRetries,
      logger: deps.logger,
    }),
  });
}

const lagGauge = cqrsMetric('cqrs_consumer_lag_messages');

/**
 * Keeps the active generation's projection running: consumes with that generation's group and
 * writes its tables, and follows a rebuild's switch to a new generation (checked every
 * `checkEveryMs`), so after a switch this instance continues where the rebuild stopped.
 */
export class ProjectionRunner implements RunningProjection {
  readonly name = 'tasks';
  private consumer: BatchConsumer | undefined;
  private current: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private admin: Admin | undefined;
  private lastError: string | undefined;
  private stopped = false;
  private paused = false;

  constructor(
    private readonly deps: ProjectionDeps,
    private readonly settings: ProjectionSettings,
    private readonly checkEveryMs: number,
    /** Where an operator's pause is recorded; every check stops or starts the consumer to match. */
    private readonly controls?: Pick<ProjectionControls, 'isPaused'>,
  ) {}

  /** Starts following the active generation in the background (the read DB may not be up yet). */
  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.checking = this.check().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.checkEveryMs);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.checking;
    await this.consumer?.stop();
    await this.admin?.disconnect().catch(() => undefined);
  }

  /** What readiness and `status` report. */
  status(): ProjectionStatus {
    const failure = this.consumer?.failure?.message;
    const problem = failure ?? (this.consumer || this.paused ? undefined : this.lastError);
    return {
      generation: this.current ?? null,
      groupId: this.current === undefined ? null : groupIdOf(this.settings.groupPrefix, this.current),
      running: this.consumer !== undefined && failure === undefined,
      ...(this.paused ? { paused: true } : {}),
      ...(problem ? { problem } : {}),
    };
  }

  private async connectedAdmin(): Promise<Admin> {
    this.admin ??= this.deps.kafka.admin();
    await this.admin.connect();
    return this.admin;
  }

  /** Per-partition lag of the active group (and refreshes the `cqrs_consumer_lag_messages` gauge). */
  async lag(): Promise<PartitionLag[]> {
    if (this.current === undefined) return [];
    const lags = await consumerGroupLag(
      await this.connectedAdmin(),
      groupIdOf(this.settings.groupPrefix, this.current),
      this.settings.topics,
    );
    for (const l of lags) lagGauge.set({ topic: l.topic, partition: String(l.partition) }, l.lag);
    return lags;
  }

  private async check(): Promise<void> {
    try {
      if (this.consumer?.failure) {
        // kafkajs gave up (e.g. the brokers were gone too long): start over with a new consumer.
        this.deps.logger.warn({ err: this.consumer.failure }, 'consumer stopped for good; restarting it');
        await this.consumer.stop().catch(() => undefined);
        this.consumer = undefined;
        this.current = undefined;
      }
      const generation = await activeGeneration(this.deps.pool);
      this.paused = (await this.controls?.isPaused(this.name)) ?? false;
      if (this.paused) {
        if (this.consumer) {
          // Stopped between batches: what it applied is committed, and a resume starts there.
          const consumer = this.consumer;
          this.consumer = undefined;
          await consumer.stop();
          this.deps.logger.info({ generation: this.current }, 'paused by an operator');
        }
        this.current = generation;
      } else if (generation !== this.current || !this.consumer) await this.follow(generation);
      this.lastError = undefined;
      await this.lag().catch(() => undefined);
      // A rebuild the CLI runs shows on this instance's /metrics (cqrs_projection_rebuild_*).
      await refreshRebuildGauges(this.deps.pool).catch(() => undefined);
    } catch (error) {
      this.lastError = (error as Error).message;
      this.deps.logger.warn({ err: error }, `projection not running: ${this.lastError}`);
    }
  }

  private async follow(generation: number): Promise<void> {
    if (this.consumer) {
      this.deps.logger.info(
        { from: this.current, to: generation },
        'another generation is active; switching consumer group',
      );
      await this.consumer.stop();
      this.consumer = undefined;
    }
    const created = await prepareProjectionTopics(() => this.connectedAdmin(), this.deps.dlq, this.settings.topics, {
      createWithPartitions: this.settings.createTopicsWithPartitions,
      retentionMs: this.settings.eventTopicRetentionMs,
    });
    if (created.length > 0)
      this.deps.logger.info({ topics: created }, 'created the topics to project (none existed yet)');
    const writer = new TaskReadModelWriter(this.deps.pool, generation, true);
    const consumer = createProjectionConsumer(this.deps, this.settings, writer);
    try {
      await consumer.start();
    } catch (error) {
      await consumer.stop().catch(() => undefined);
      throw error;
    }
    if (this.stopped) return void (await consumer.stop());
    this.consumer = consumer;
    this.current = generation;
    this.deps.logger.info({ generation, groupId: groupIdOf(this.settings.groupPrefix, generation) }, 'projecting');
  }
}
