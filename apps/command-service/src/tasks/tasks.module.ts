import {
  createEventStoreDataSource,
  LruAggregateCache,
  PostgresEventStore,
  repeatWithJitter,
  type EventStore,
  type EventStoreMaintenance,
  type PruneSnapshotsOptions,
  type RepeatingTask,
} from '@cqrs/event-store';
import { taskUpcasters } from '@cqrs/tasks-domain';
import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import type { CommandServiceConfig } from '../config';
import { AbandonTaskHandler } from './abandon-task/abandon-task.handler';
import { CommandMetricsInterceptor } from './command-metrics.interceptor';
import { CompleteTaskHandler } from './complete-task/complete-task.handler';
import { CreateTaskHandler } from './create-task/create-task.handler';
import { DeleteTaskHandler } from './delete-task/delete-task.handler';
import { StartTaskHandler } from './start-task/start-task.handler';
import { AGGREGATE_CACHE, EVENT_STORE, TaskCommandExecutor } from './task-command.executor';
import { TaskEventEncoder } from './task-event.encoder';
import { TasksController } from './tasks.controller';
import { UpdateTaskHandler } from './update-task/update-task.handler';

const PURGE_EVERY_MS = 10 * 60_000;
const DAY_MS = 86_400_000;

/** How the service prunes snapshots (`SNAPSHOT_PRUNE_INTERVAL_MS` and co.); `intervalMs` 0: never. */
const SNAPSHOT_PRUNING = Symbol('SNAPSHOT_PRUNING');
interface SnapshotPruning extends Pick<PruneSnapshotsOptions, 'keep' | 'maxAgeMs'> {
  intervalMs: number;
}

/**
 * Owns the write database's lifecycle and the store's upkeep: the periodic purge of expired
 * idempotency keys, and the snapshot pruning (jittered, never overlapping, errors logged).
 */
@Injectable()
class EventStoreLifecycle implements OnModuleInit, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private pruning?: RepeatingTask;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(EVENT_STORE) private readonly store: EventStore & EventStoreMaintenance,
    @Inject(SNAPSHOT_PRUNING) private readonly snapshotPruning: SnapshotPruning,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('EventStore');
  }

  onModuleInit() {
    this.timer = setInterval(() => {
      this.store
        .purgeExpiredIdempotencyKeys()
        .then((purged) => purged > 0 && this.logger.info({ purged }, 'expired idempotency keys purged'))
        .catch((error: unknown) => this.logger.warn({ err: error }, 'idempotency key purge failed; will retry'));
    }, PURGE_EVERY_MS).unref();

    const { intervalMs, keep, maxAgeMs } = this.snapshotPruning;
    if (intervalMs > 0) {
      this.pruning = repeatWithJitter(
        async () => {
          const pruned = await this.store.pruneSnapshots({ keep, maxAgeMs });
          if (pruned.deleted > 0) this.logger.info({ ...pruned }, 'old snapshots pruned');
        },
        { intervalMs, onError: (error) => this.logger.warn({ err: error }, 'snapshot pruning failed; will retry') },
      );
    }
  }

  async onApplicationShutdown() {
    clearInterval(this.timer);
    await this.pruning?.stop();
    await this.dataSource.destroy();
  }
}

@Module({})
export class TasksModule {
  static forRoot(config: CommandServiceConfig): DynamicModule {
    return {
      module: TasksModule,
      imports: [CqrsModule.forRoot()],
      controllers: [TasksController],
      providers: [
        {
          provide: DataSource,
          useFactory: () =>
            createEventStoreDataSource({
              url: config.DATABASE_URL,
              poolSize: config.DATABASE_POOL_SIZE,
              connectTimeoutMs: config.DATABASE_ACQUIRE_TIMEOUT_MS,
              applicationName: 'command-service',
            }).initialize(),
        },
        {
          provide: EVENT_STORE,
          inject: [DataSource],
          useFactory: (dataSource: DataSource) =>
            new PostgresEventStore(dataSource, {
              snapshotEvery: config.SNAPSHOT_EVERY,
              deleteOutboxRows: config.OUTBOX_DELETE_ROWS,
              idempotencyTtlMs: config.IDEMPOTENCY_TTL_MS,
              appendsInFlight: config.APPENDS_IN_FLIGHT,
              maxQueuedAppends: config.APPENDS_QUEUED_MAX,
              // Task events stored in older shapes are lifted to today's on every load.
              upcasters: taskUpcasters,
            }),
        },
        {
          provide: SNAPSHOT_PRUNING,
          useValue: {
            intervalMs: config.SNAPSHOT_PRUNE_INTERVAL_MS,
            keep: config.SNAPSHOT_KEEP,
            maxAgeMs: config.SNAPSHOT_MAX_AGE_DAYS * DAY_MS,
          } satisfies SnapshotPruning,
        },
        {
          provide: AGGREGATE_CACHE,
          useFactory: () =>
            config.AGGREGATE_CACHE_SIZE > 0 ? new LruAggregateCache({ max: config.AGGREGATE_CACHE_SIZE }) : null,
        },
        { provide: TaskEventEncoder, useFactory: () => TaskEventEncoder.create(config.schemaRegistry) },
        EventStoreLifecycle,
        TaskCommandExecutor,
        CommandMetricsInterceptor,
        CreateTaskHandler,
        UpdateTaskHandler,
        StartTaskHandler,
        CompleteTaskHandler,
        AbandonTaskHandler,
        DeleteTaskHandler,
      ],
      exports: [DataSource, TaskEventEncoder],
    };
  }
}
