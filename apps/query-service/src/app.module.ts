import { HealthModule, postgresCheck, type ReadinessCheck } from '@cqrs/http';
import { ObservabilityModule } from '@cqrs/observability';
import { DynamicModule, Module } from '@nestjs/common';
import type { QueryServiceConfig } from './config';
import { ChangeFeed } from './read-model/change-feed';
import { TasksModule } from './tasks/tasks.module';

@Module({})
export class AppModule {
  static forRoot(config: QueryServiceConfig): DynamicModule {
    const tasks = TasksModule.forRoot(config);
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          service: 'query-service',
          logLevel: config.LOG_LEVEL,
          prettyLogs: config.LOG_PRETTY,
        }),
        tasks,
        HealthModule.forRoot({
          imports: [tasks],
          inject: [ChangeFeed],
          useFactory: (feed: ChangeFeed): ReadinessCheck[] => [
            postgresCheck('postgres', config.DATABASE_URL),
            {
              // Without the feed, caches cannot learn about changes and read-your-writes waits are not woken.
              name: 'change-feed',
              check: async () => {
                if (!feed.connected) throw new Error('not LISTENing to the projector’s change notifications');
              },
            },
          ],
        }),
      ],
    };
  }
}
