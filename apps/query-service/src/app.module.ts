import {
  composeContexts,
  type ContextModule,
  HealthModule,
  issuerCheck,
  postgresCheck,
  type ReadinessCheck,
  SecurityModule,
  TokenVerifier,
} from '@cqrs/http';
import { ObservabilityModule } from '@cqrs/observability';
import { DynamicModule, Module } from '@nestjs/common';
import type { Pool } from 'pg';
import type { QueryServiceConfig } from './config';
import { QUERY_CONTEXTS } from './contexts';
import { READ_POOL, ReadDatabaseModule } from './read-model/read-database.module';

@Module({})
export class AppModule {
  static forRoot(
    config: QueryServiceConfig,
    contexts: readonly ContextModule<QueryServiceConfig>[] = QUERY_CONTEXTS,
  ): DynamicModule {
    const readDatabase = ReadDatabaseModule.forRoot(config);
    const composed = composeContexts(contexts, config);
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
        readDatabase,
        ...composed.modules,
        HealthModule.forRoot({
          imports: [readDatabase, ...composed.modules, security],
          inject: [READ_POOL, TokenVerifier, ...composed.inject],
          useFactory: (pool: Pool, verifier: TokenVerifier, ...contextDeps: unknown[]): ReadinessCheck[] => [
            postgresCheck('postgres', pool),
            ...composed.checks(contextDeps),
            issuerCheck(verifier),
          ],
          cacheMs: config.READINESS_CACHE_MS,
        }),
      ],
    };
  }
}
