import {
  HealthModule,
  issuerCheck,
  postgresCheck,
  type ReadinessCheck,
  SecurityModule,
  TokenVerifier,
} from '@cqrs/http';
import { ObservabilityModule } from '@cqrs/observability';
import { DynamicModule, Module } from '@nestjs/common';
import type { QueryServiceConfig } from './config';
import { ChangeFeed } from './read-model/change-feed';
import { READ_POOL, TasksModule } from './tasks/tasks.module';
import type { Pool } from 'pg';

@Module({})
export class AppModule {
  static forRoot(config: QueryServiceConfig): DynamicModule {
    const tasks = TasksModule.forRoot(config);
    const security = SecurityModule.forRoot(config);
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          service: 'query-service',
          logLevel: config.LOG_LEVEL,
          prettyLogs: config.LOG_PRETTY,
        }),
        security,
        tasks,
        HealthModule.forRoot({
          imports: [tasks, security],
          inject: [ChangeFeed, READ_POOL, TokenVerifier],
          useFactory: (feed: ChangeFeed, pool: Pool, verifier: TokenVerifier): ReadinessCheck[] => [
            postgresCheck('postgres', pool),
            {
              // Without the feed, caches cannot learn about changes and read-your-writes waits are not woken.
              name: 'change-feed',
              check: async () => {
                if (!feed.connected) throw new Error('not LISTENing to the projector’s change notifications');
              },
            },
            issuerCheck(verifier),
          ],
          cacheMs: config.READINESS_CACHE_MS,
        }),
      ],
    };
  }
}
