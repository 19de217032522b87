import { TaskReadRepository } from '@cqrs/tasks-read-model';
import { DynamicModule, Inject, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { Pool } from 'pg';
import type { QueryServiceConfig } from '../config';
import { VersionWaiter } from '../consistency/version-waiter';
import { ChangeFeed } from '../read-model/change-feed';
import { TaskQueries } from './task-queries';
import { TasksController } from './tasks.controller';

/** Injection token of the read database pool. */
export const READ_POOL = Symbol('READ_POOL');

class ReadSideLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(READ_POOL) private readonly pool: Pool,
    private readonly feed: ChangeFeed,
  ) {}

  onModuleInit(): void {
    this.feed.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.feed.stop();
    await this.pool.end();
  }
}

/** The tasks queries: pool (SELECT-only role), repository, caches, change feed, read-your-writes. */
@Module({})
export class TasksModule {
  static forRoot(config: QueryServiceConfig): DynamicModule {
    const policy = (freshMs: number, cacheMs: number) => ({
      freshMs,
      cacheMs,
      emptyMs: config.CACHE_EMPTY_MS,
      maxEntries: config.CACHE_MAX_ENTRIES,
    });
    return {
      module: TasksModule,
      controllers: [TasksController],
      providers: [
        {
          provide: READ_POOL,
          useFactory: () => {
            const pool = new Pool({
              connectionString: config.DATABASE_URL,
              max: config.DATABASE_POOL_SIZE,
              application_name: 'query-service',
              // Both make TaskReadRepository answer 503 READ_MODEL_UNAVAILABLE instead of piling up requests.
              connectionTimeoutMillis: config.DATABASE_ACQUIRE_TIMEOUT_MS,
              statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS,
            });
            // An idle client's error (e.g. the server restarted) must not crash the process.
            pool.on('error', () => undefined);
            return pool;
          },
        },
        { provide: TaskReadRepository, inject: [READ_POOL], useFactory: (pool: Pool) => new TaskReadRepository(pool) },
        {
          provide: VersionWaiter,
          inject: [TaskReadRepository],
          useFactory: (repository: TaskReadRepository) =>
            new VersionWaiter(
              (ids, visibleTo) => repository.streamVersions(ids, visibleTo),
              config.READ_YOUR_WRITES_TIMEOUT_MS,
              config.READ_YOUR_WRITES_RETRY_AFTER_S,
            ),
        },
        {
          provide: TaskQueries,
          inject: [TaskReadRepository, VersionWaiter, PinoLogger],
          useFactory: (repository: TaskReadRepository, waiter: VersionWaiter, logger: PinoLogger) => {
            logger.setContext('TaskQueries');
            return new TaskQueries(
              repository,
              waiter,
              {
                task: policy(config.CACHE_TASK_FRESH_MS, config.CACHE_TASK_TIME_MS),
                taskList: policy(config.CACHE_TASK_LIST_FRESH_MS, config.CACHE_TASK_LIST_TIME_MS),
                userStats: policy(config.CACHE_USER_STATS_FRESH_MS, config.CACHE_USER_STATS_TIME_MS),
              },
              logger,
            );
          },
        },
        {
          provide: ChangeFeed,
          inject: [TaskQueries],
          useFactory: (queries: TaskQueries) =>
            new ChangeFeed(config.DATABASE_URL, {
              onChanges: (changes) => queries.onChanges(changes),
              onReset: () => queries.onReset(),
            }),
        },
        ReadSideLifecycle,
      ],
      exports: [ChangeFeed, READ_POOL],
    };
  }
}
