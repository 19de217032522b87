import { AvroSerde, type SchemaRegistryClient } from '@cqrs/messaging';
import {
  BatchConsumer,
  consumerGroupLag,
  type ConsumerLogger,
  type DeadLetterPublisher,
  type PartitionLag,
} from '@cqrs/messaging/consumer';
import type { Admin, Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import type { ProjectionControls } from './projection-controls';
import { prepareProjectionTopics } from './projection-topics';
import type { ProjectionStatus, RunningProjection } from './running-projection';
import { streamBatchHandler, type StreamProjectionDefinition } from './stream-batch';

export interface StreamProjectionDeps {
  pool: Pool;
  kafka: Kafka;
  registry: SchemaRegistryClient;
  dlq: DeadLetterPublisher;
  logger: ConsumerLogger;
}

export interface StreamProjectionSettings {
  /** Consumer group id. @default `<name>-projector` */
  groupId?: string;
  /** Create missing topics with this many partitions; undefined = wait until they exist. */
  createTopicsWithPartitions?: number;
  /** `retention.ms` of topics it creates. @default -1 (every event kept) */
  eventTopicRetentionMs?: number;
  concurrency: number;
  maxBatchBytes: number;
  gapRetries: number;
  retry: { minTimeoutMs: number; maxTimeoutMs: number };
  sessionTimeoutMs?: number;
  /** How often a projection that could not start tries again (and checks `controls`). @default 2000 */
  restartEveryMs?: number;
  /** Where an operator's pause is recorded; every check stops or starts the consumer to match. */
  controls?: Pick<ProjectionControls, 'isPaused'>;
}

/**
 * A projection of one or more event topics into a context's tables, with per-stream checkpoints
 * (see `streamBatchHandler`). It has no generations: its tables are its context's, migrated with
 * it. It restarts its consumer when kafkajs gives up (brokers gone too long).
 */
export class StreamProjection implements RunningProjection {
  private consumer: BatchConsumer | undefined;
  private admin: Admin | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt: Promise<void> | undefined;
  private lastError: string | undefined;
  private stopped = false;
  private paused = false;
  readonly groupId: string;
  readonly name: string;

  constructor(
    private readonly definition: StreamProjectionDefinition,
    private readonly deps: StreamProjectionDeps,
    private readonly settings: StreamProjectionSettings,
  ) {
    this.name = definition.name;
    this.groupId = settings.groupId ?? `${definition.name}-projector`;
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.attempt = this.ensureRunning().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.settings.restartEveryMs ?? 2_000);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.attempt;
    await this.consumer?.stop();
    await this.admin?.disconnect().catch(() => undefined);
  }

  status(): ProjectionStatus {
    const failure = this.consumer?.failure?.message;
    const problem = failure ?? (this.consumer || this.paused ? undefined : (this.lastError ?? 'starting'));
    return {
      generation: null,
      groupId: this.groupId,
      running: this.consumer !== undefined && failure === undefined,
      ...(this.paused ? { paused: true } : {}),
      ...(problem ? { problem } : {}),
    };
  }

  async lag(): Promise<PartitionLag[]> {
    return consumerGroupLag(await this.connectedAdmin(), this.groupId, [...this.definition.topics]);
  }

  private async connectedAdmin(): Promise<Admin> {
    this.admin ??= this.deps.kafka.admin();
    await this.admin.connect();
    return this.admin;
  }

  private async ensureRunning(): Promise<void> {
    try {
      if (this.consumer?.failure) {
        this.deps.logger.warn(
          { err: this.consumer.failure, projection: this.name },
          'consumer stopped for good; restarting it',
        );
        await this.consumer.stop().catch(() => undefined);
        this.consumer = undefined;
      }
      this.paused = (await this.settings.controls?.isPaused(this.name)) ?? false;
      if (this.paused) {
        if (this.consumer) {
          // Stopped between batches: what it applied is committed, and a resume starts there.
          const consumer = this.consumer;
          this.consumer = undefined;
          await consumer.stop();
          this.deps.logger.info({ projection: this.name }, 'paused by an operator');
        }
        return;
      }
      if (this.consumer) return;
      const topics = [...this.definition.topics];
      await prepareProjectionTopics(() => this.connectedAdmin(), this.deps.dlq, topics, {
        createWithPartitions: this.settings.createTopicsWithPartitions,
        retentionMs: this.settings.eventTopicRetentionMs,
      });
      const consumer = new BatchConsumer({
        kafka: this.deps.kafka,
        name: this.name,
        groupId: this.groupId,
        topics,
        fromBeginning: true,
        partitionsConsumedConcurrently: this.settings.concurrency,
        maxBytesPerPartition: this.settings.maxBatchBytes,
        retry: this.settings.retry,
        sessionTimeoutMs: this.settings.sessionTimeoutMs ?? 10_000,
        logger: this.deps.logger,
        handler: streamBatchHandler({
          definition: this.definition,
          pool: this.deps.pool,
          serde: new AvroSerde({ registry: this.deps.registry, contracts: this.definition.contracts }),
          dlq: this.deps.dlq,
          gapRetries: this.settings.gapRetries,
          logger: this.deps.logger,
        }),
      });
      try {
        await consumer.start();
      } catch (error) {
        await consumer.stop().catch(() => undefined);
        throw error;
      }
      if (this.stopped) return void (await consumer.stop());
      this.consumer = consumer;
      this.lastError = undefined;
      this.deps.logger.info({ projection: this.name, groupId: this.groupId }, 'projecting');
    } catch (error) {
      this.lastError = (error as Error).message;
      this.deps.logger.warn(
        { err: error, projection: this.name },
        `projection ${this.name} not running: ${this.lastError}`,
      );
    }
  }
}
