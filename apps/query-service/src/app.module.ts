import { HealthModule, postgresCheck } from '@cqrs/http';
import { ObservabilityModule } from '@cqrs/observability';
import { DynamicModule, Module } from '@nestjs/common';
import type { QueryServiceConfig } from './config';

@Module({})
export class AppModule {
  static forRoot(config: QueryServiceConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          service: 'query-service',
          version: process.env['npm_package_version'] ?? '0.0.0',
          logLevel: config.LOG_LEVEL,
          prettyLogs: config.LOG_PRETTY,
        }),
        HealthModule.forRoot({
          useFactory: () => [
            postgresCheck('postgres', config.DATABASE_URL),
          ],
        }),
      ],
    };
  }
}
