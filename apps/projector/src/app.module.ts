import { HealthModule, httpCheck, kafkaCheck, postgresCheck, SecurityModule, type ReadinessCheck } from '@cqrs/http';
import { schemaRegistryHeaders } from '@cqrs/messaging';
import type { Kafka } from 'kafkajs';
import { Pool } from 'pg';
import { ObservabilityModule } from '@cqrs/observability';
import { DynamicModule, Module } from '@nestjs/common';
import { AdminModule } from './admin/admin.module';
import type { ProjectorConfig } from './config';
import { PROJECTIONS, ProjectionModule } from './projection/projection.module';
import { projectionReadiness } from './projection/projection-health';
import type { RunningProjection } from '@cqrs/projection';

@Module({})
export class AppModule {
  static forRoot(config: ProjectorConfig): DynamicModule {
    const projection = ProjectionModule.forRoot(config);
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          service: 'projector',
          logLevel: config.LOG_LEVEL,
          prettyLogs: config.LOG_PRETTY,
        }),
        // Every route but health, metrics and the OpenAPI document needs a bearer token; the admin API, the admin role.
        SecurityModule.forRoot(config),
        projection,
        AdminModule.forRoot(config, projection),
        HealthModule.forRoot({
          imports: [projection],
          inject: [PROJECTIONS, Pool, 'KAFKA'],
          useFactory: (projections: RunningProjection[], pool: Pool, kafka: Kafka): ReadinessCheck[] => [
            postgresCheck('postgres', pool),
            kafkaCheck(kafka),
            // With the projector's own registry credentials and trust, as its decoder asks.
            httpCheck('schema-registry', `${config.SCHEMA_REGISTRY_URL}/subjects`, {
              headers: () => schemaRegistryHeaders(config.schemaRegistry),
              ca: config.schemaRegistry.ca,
            }),
            ...projections.map((p) => projectionReadiness(p, config.PROJECTOR_READY_MAX_LAG)),
          ],
          cacheMs: config.READINESS_CACHE_MS,
        }),
      ],
    };
  }
}
