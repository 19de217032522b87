import { HealthModule, postgresCheck } from '@cqrs/http';
import { ObservabilityModule } from '@cqrs/observability';
import { DynamicModule, Module } from '@nestjs/common';
import type { OutboxRelayConfig } from './config';
import { OutboxRelayService } from './relay/outbox-relay.service';
import { relayReadinessChecks } from './relay/relay-health';

@Module({})
export class AppModule {
  static forRoot(config: OutboxRelayConfig): DynamicModule {
    const relay = new OutboxRelayService(config);
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          service: 'outbox-relay',
          logLevel: config.LOG_LEVEL,
          prettyLogs: config.LOG_PRETTY,
        }),
        HealthModule.forRoot({
          useFactory: () => [
            postgresCheck('postgres', config.DATABASE_URL),
            ...relayReadinessChecks(relay.relay, { brokers: config.KAFKA_BROKERS, security: config.kafkaSecurity }),
          ],
          cacheMs: config.READINESS_CACHE_MS,
        }),
      ],
      providers: [{ provide: OutboxRelayService, useValue: relay }],
    };
  }
}
