import { decodeStreamChanges } from '@cqrs/projection';
import { PROJECTS_CHANGED_CHANNEL, ProjectReader } from '@cqrs/projects-read-model';
import { DynamicModule, Injectable, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { Pool } from 'pg';
import type { QueryServiceConfig } from '../config';
import { cachePolicy, createVersionWaiter, VersionWaiter } from '../queries';
import { ChangeFeed } from '../read-model/change-feed';
import { READ_POOL } from '../read-model/read-database.module';
import { ProjectQueries } from './project-queries';
import { PROJECT_STREAM_NAMING } from './projects.dto';
import { ProjectsController } from './projects.controller';

/** The projects context's change feed, a provider token of its own (tasks has another). */
export class ProjectsChangeFeed extends ChangeFeed {}

@Injectable()
class ProjectsFeedLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(private readonly feed: ProjectsChangeFeed) {}

  onModuleInit(): void {
    this.feed.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.feed.stop();
  }
}

/** The projects queries: reader, read-your-writes, change feed (on the shared read pool). */
@Module({})
export class ProjectsModule {
  static forRoot(config: QueryServiceConfig): DynamicModule {
    return {
      module: ProjectsModule,
      controllers: [ProjectsController],
      providers: [
        { provide: ProjectReader, inject: [READ_POOL], useFactory: (pool: Pool) => new ProjectReader(pool) },
        {
          provide: VersionWaiter,
          inject: [ProjectReader],
          useFactory: (reader: ProjectReader) =>
            createVersionWaiter(config, (ids, visibleTo) => reader.versions(ids, visibleTo), PROJECT_STREAM_NAMING),
        },
        {
          provide: ProjectQueries,
          inject: [ProjectReader, VersionWaiter, PinoLogger],
          useFactory: (reader: ProjectReader, waiter: VersionWaiter, logger: PinoLogger) => {
            logger.setContext('ProjectQueries');
            // Cache off: see ProjectQueries.
            return new ProjectQueries(reader, waiter, cachePolicy(config, 0, 0), logger);
          },
        },
        {
          provide: ProjectsChangeFeed,
          inject: [ProjectQueries],
          useFactory: (queries: ProjectQueries) =>
            new ProjectsChangeFeed(config.DATABASE_URL, {
              channels: { [PROJECTS_CHANGED_CHANNEL]: (payload) => queries.onChanges(decodeStreamChanges(payload)) },
              onReset: () => queries.onReset(),
            }),
        },
        ProjectsFeedLifecycle,
      ],
      exports: [ProjectsChangeFeed],
    };
  }
}
