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
import { mergeUpcasterSteps, upcasterChain, type UpcasterSteps } from '@cqrs/util';
import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import type { CommandServiceConfig } from '../config';

/** The event store every context's command handlers append to (an {@link EventStore}). */
export const EVENT_STORE = Symbol('EVENT_STORE');
/** The {@link AggregateCache} of loaded aggregates, or `null` when caching is off. */
export const AGGREGATE_CACHE = Symbol('AGGREGATE_CACHE');

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

/**
 * The write database and its event store, shared by every context of the command service: one
 * pool, one group commit, one outbox. Global, so a context's module injects {@link EVENT_STORE}
 * and {@link AGGREGATE_CACHE} without importing it.
 */
@Global()
@Module({})
export class EventStoreModule {
  /**
   * @param upcasters the contexts' upcaster steps, merged: stored events of every context are
   *   lifted to today's shapes on load (event types are unique across contexts).
   */
  static forRoot(config: CommandServiceConfig, upcasters: readonly UpcasterSteps[]): DynamicModule {
    return {
      module: EventStoreModule,
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
              upcasters: upcasterChain(mergeUpcasterSteps(upcasters)),
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
        EventStoreLifecycle,
      ],
      exports: [DataSource, EVENT_STORE, AGGREGATE_CACHE],
    };
  }
}
