import { HealthModule, httpCheck, kafkaCheck, postgresCheck } from '@cqrs/http';
import { ObservabilityModule } from '@cqrs/observability';
import { DynamicModule, Module } from '@nestjs/common';
import type { ProjectorConfig } from './config';

@Module({})
export class AppModule {
  static forRoot(config: ProjectorConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          service: 'projector',
          version: process.env['npm_package_version'] ?? '0.0.0',
          logLevel: config.LOG_LEVEL,
          prettyLogs: config.LOG_PRETTY,
        }),
        HealthModule.forRoot({
          useFactory: () => [
            postgresCheck('postgres', config.DATABASE_URL),
            kafkaCheck(config.KAFKA_BROKERS),
            httpCheck('schema-registry', `${config.SCHEMA_REGISTRY_URL}/subjects`),
          ],
        }),
      ],
    };
  }
}
