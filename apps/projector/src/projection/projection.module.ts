import { AvroSerde, createSchemaRegistry } from '@cqrs/messaging';
import { createKafka, DeadLetterPublisher } from '@cqrs/messaging/consumer';
import { tasksTaskEventsContracts } from '@cqrs/tasks-contracts';
import { DynamicModule, Injectable, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { Pool } from 'pg';
import { projectionSettings, type ProjectorConfig } from '../config';
import { ProjectionRunner } from './projection-runner';
import { TaskRecordDecoder } from './task-record.decoder';

/** Starts the projection when the app starts and stops it (between batches) on shutdown. */
@Injectable()
class ProjectionLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly runner: ProjectionRunner,
    private readonly dlq: DeadLetterPublisher,
    private readonly pool: Pool,
  ) {}

  onModuleInit(): void {
    // In the background, retrying: the HTTP side (health, metrics) comes up even while Kafka or the DB is down.
    this.runner.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.stop();
    await this.dlq.disconnect().catch(() => undefined);
    await this.pool.end();
  }
}

/** The live projection of the tasks topic(s) into the active read-model generation. */
@Module({})
export class ProjectionModule {
  static forRoot(config: ProjectorConfig): DynamicModule {
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
          provide: TaskRecordDecoder,
          useFactory: () =>
            new TaskRecordDecoder(
              new AvroSerde({
                registry: createSchemaRegistry(config.schemaRegistry),
                contracts: tasksTaskEventsContracts,
              }),
            ),
        },
        {
          provide: ProjectionRunner,
          inject: [Pool, 'KAFKA', TaskRecordDecoder, DeadLetterPublisher, PinoLogger],
          useFactory: (
            pool: Pool,
            kafka: ReturnType<typeof createKafka>,
            decoder: TaskRecordDecoder,
            dlq: DeadLetterPublisher,
            logger: PinoLogger,
          ) => {
            logger.setContext('Projector');
            return new ProjectionRunner(
              { pool, kafka, decoder, dlq, logger },
              projectionSettings(config),
              config.PROJECTOR_GENERATION_CHECK_MS,
            );
          },
        },
        ProjectionLifecycle,
      ],
      exports: [ProjectionRunner, Pool, 'KAFKA'],
    };
  }
}
