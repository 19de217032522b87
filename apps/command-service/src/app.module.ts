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
import { DataSource } from 'typeorm';
import type { CommandServiceConfig } from './config';
import { TaskEventEncoder } from './tasks/task-event.encoder';
import { TasksModule } from './tasks/tasks.module';

@Module({})
export class AppModule {
  static forRoot(config: CommandServiceConfig): DynamicModule {
    const tasks = TasksModule.forRoot(config);
    const security = SecurityModule.forRoot(config);
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          service: 'command-service',
          logLevel: config.LOG_LEVEL,
          prettyLogs: config.LOG_PRETTY,
        }),
        security,
        tasks,
        HealthModule.forRoot({
          imports: [tasks, security],
          inject: [DataSource, TaskEventEncoder, TokenVerifier],
          useFactory: (db: DataSource, encoder: TaskEventEncoder, verifier: TokenVerifier): ReadinessCheck[] => [
            postgresCheck('postgres', db),
            // Not the registry itself: warm encoders never ask it, so its outage must not take us out of service.
            { name: 'encoders', check: () => encoder.warm() },
            issuerCheck(verifier),
          ],
          cacheMs: config.READINESS_CACHE_MS,
        }),
      ],
    };
  }
}
