import { HealthModule, httpCheck, postgresCheck } from '@cqrs/http';
import { ObservabilityModule } from '@cqrs/observability';
import { DynamicModule, Module } from '@nestjs/common';
import type { CommandServiceConfig } from './config';
import { TasksModule } from './tasks/tasks.module';

@Module({})
export class AppModule {
  static forRoot(config: CommandServiceConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          service: 'command-service',
          logLevel: config.LOG_LEVEL,
          prettyLogs: config.LOG_PRETTY,
        }),
        HealthModule.forRoot({
          useFactory: () => [
            postgresCheck('postgres', config.DATABASE_URL),
            httpCheck('schema-registry', `${config.SCHEMA_REGISTRY_URL}/subjects`),
          ],
        }),
        TasksModule.forRoot(config),
      ],
    };
  }
}
