import {
  composeContexts,
  HealthModule,
  issuerCheck,
  postgresCheck,
  type ReadinessCheck,
  SecurityModule,
  TokenVerifier,
} from '@cqrs/http';
import { ObservabilityModule } from '@cqrs/observability';
import { DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import type { CommandServiceConfig } from './config';
import { COMMAND_CONTEXTS, type CommandSideContext } from './contexts';
import { EventStoreModule } from './event-store/event-store.module';

@Module({})
export class AppModule {
  static forRoot(
    config: CommandServiceConfig,
    contexts: readonly CommandSideContext[] = COMMAND_CONTEXTS,
  ): DynamicModule {
    const eventStore = EventStoreModule.forRoot(
      config,
      contexts.flatMap((c) => (c.upcasters ? [c.upcasters] : [])),
    );
    const composed = composeContexts(contexts, config);
    const security = SecurityModule.forRoot(config);
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          service: 'command-service',
          logLevel: config.LOG_LEVEL,
          prettyLogs: config.LOG_PRETTY,
        }),
        CqrsModule.forRoot(),
        security,
        eventStore,
        ...composed.modules,
        HealthModule.forRoot({
          imports: [eventStore, ...composed.modules, security],
          inject: [DataSource, TokenVerifier, ...composed.inject],
          useFactory: (db: DataSource, verifier: TokenVerifier, ...contextDeps: unknown[]): ReadinessCheck[] => [
            postgresCheck('postgres', db),
            ...composed.checks(contextDeps),
            issuerCheck(verifier),
          ],
          cacheMs: config.READINESS_CACHE_MS,
        }),
      ],
    };
  }
}
