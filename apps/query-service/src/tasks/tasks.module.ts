import {
  decodeChangeNotices,
  TASKS_CHANGED_CHANNEL,
  TASKS_PROJECTION_SWITCHED_CHANNEL,
  TaskReadRepository,
} from '@cqrs/tasks-read-model';
import { DynamicModule, Injectable, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { Pool } from 'pg';
import type { QueryServiceConfig } from '../config';
import { READ_POOL } from '../read-model/read-database.module';
import { cachePolicy, createVersionWaiter, VersionWaiter } from '../queries';
import { ChangeFeed } from '../read-model/change-feed';
import { TaskQueries } from './task-queries';
import { TasksController } from './tasks.controller';

@Injectable()
class ChangeFeedLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(private readonly feed: ChangeFeed) {}

  onModuleInit(): void {
    this.feed.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.feed.stop();
  }
}

/** The tasks queries: repository, caches, change feed, read-your-writes (on the shared read pool). */
@Module({})
export class TasksModule {
  static forRoot(config: QueryServiceConfig): DynamicModule {
    const policy = (freshMs: number, cacheMs: number) => cachePolicy(config, freshMs, cacheMs);
    return {
      module: TasksModule,
      controllers: [TasksController],
      providers: [
        { provide: TaskReadRepository, inject: [READ_POOL], useFactory: (pool: Pool) => new TaskReadRepository(pool) },
        {
          provide: VersionWaiter,
          inject: [TaskReadRepository],
          useFactory: (repository: TaskReadRepository) =>
            createVersionWaiter(config, (ids, visibleTo) => repository.streamVersions(ids, visibleTo)),
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
          inject: [TaskQueries, PinoLogger],
          useFactory: (queries: TaskQueries, logger: PinoLogger) =>
            new ChangeFeed(config.DATABASE_URL, {
              channels: {
                [TASKS_CHANGED_CHANNEL]: (payload) => queries.onChanges(decodeChangeNotices(payload).changes),
                // Everything changed at once: drop the caches, and let waiters look again.
                [TASKS_PROJECTION_SWITCHED_CHANNEL]: (payload) => {
                  logger.info({ payload }, 'another read-model generation was activated; dropping caches');
                  queries.onReset();
                },
              },
              onReset: () => queries.onReset(),
            }),
        },
        ChangeFeedLifecycle,
      ],
      exports: [ChangeFeed],
    };
  }
}
