import { createSchemaRegistry } from '@cqrs/messaging';
import { createKafka, DeadLetterPublisher } from '@cqrs/messaging/consumer';
import type { RunningProjection } from '@cqrs/projection';
import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { Pool } from 'pg';
import type { ProjectorConfig } from '../config';
import { PROJECTOR_CONTEXTS, type ProjectorContext } from '../contexts';

/** The token of the projector's running projections (every context's). */
export const PROJECTIONS = Symbol('PROJECTIONS');

/** Starts the projections when the app starts and stops them (between batches) on shutdown. */
@Injectable()
class ProjectionLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(PROJECTIONS) private readonly projections: RunningProjection[],
    private readonly dlq: DeadLetterPublisher,
    private readonly pool: Pool,
  ) {}

  onModuleInit(): void {
    // In the background, retrying: the HTTP side (health, metrics) comes up even while Kafka or the DB is down.
    for (const projection of this.projections) projection.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.projections.map((p) => p.stop()));
    await this.dlq.disconnect().catch(() => undefined);
    await this.pool.end();
  }
}

/** Every registered context's projections (PROJECTOR_CONTEXTS), sharing one pool, Kafka client and DLQ. */
@Module({})
export class ProjectionModule {
  static forRoot(config: ProjectorConfig, contexts: readonly ProjectorContext[] = PROJECTOR_CONTEXTS): DynamicModule {
    return {
      module: ProjectionModule,
      providers: [
        {
          provide: Pool,
          useFactory: () => {
            const pool = new Pool({
              connectionString: config.DATABASE_URL,
              max: config.DATABASE_POOL_SIZE,
              application_name: 'projector',
            });
            pool.on('error', () => undefined); // an idle client's error must not crash the process
            return pool;
          },
        },
        {
          provide: 'KAFKA',
          inject: [PinoLogger],
          useFactory: (logger: PinoLogger) => {
            logger.setContext('kafkajs');
            return createKafka({
              clientId: 'projector',
              brokers: config.KAFKA_BROKERS,
              security: config.kafkaSecurity,
              logger,
            });
          },
        },
        {
          provide: DeadLetterPublisher,
          inject: ['KAFKA'],
          useFactory: (kafka: ReturnType<typeof createKafka>) => new DeadLetterPublisher(kafka),
        },
        {
          provide: PROJECTIONS,
          inject: [Pool, 'KAFKA', DeadLetterPublisher, PinoLogger],
          useFactory: (
            pool: Pool,
            kafka: ReturnType<typeof createKafka>,
            dlq: DeadLetterPublisher,
            logger: PinoLogger,
          ) => {
            logger.setContext('Projector');
            const registry = createSchemaRegistry(config.schemaRegistry);
            const projections = contexts.flatMap((c) => c.projections({ config, pool, kafka, registry, dlq, logger }));
            const names = projections.map((p) => p.name);
            const twice = names.find((n, i) => names.indexOf(n) !== i);
            if (twice) throw new Error(`two projections are named "${twice}": names must be unique`);
            return projections;
          },
        },
        ProjectionLifecycle,
      ],
      exports: [PROJECTIONS, Pool, 'KAFKA', DeadLetterPublisher],
    };
  }
}
