import { DeadLetterPublisher } from '@cqrs/messaging/consumer';
import type { RunningProjection } from '@cqrs/projection';
import { DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { Pool } from 'pg';
import type { ProjectorConfig } from '../config';
import { PROJECTIONS } from '../projection/projection.module';
import { AdminController } from './admin.controller';
import { AdminService } from './admin.service';

const OWNER_POOL = Symbol('OWNER_POOL');
const EVENT_STORE_POOL = Symbol('EVENT_STORE_POOL');

/** Ends what the admin API opened, after its background work stopped. */
@Injectable()
class AdminLifecycle implements OnApplicationShutdown {
  constructor(
    private readonly admin: AdminService,
    @Inject(OWNER_POOL) private readonly ownerPool: Pool | null,
    @Inject(EVENT_STORE_POOL) private readonly eventStore: Pool,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.admin.close();
    await Promise.allSettled([this.ownerPool?.end(), this.eventStore.end()]);
  }
}

const lazyPool = (connectionString: string, applicationName: string, max: number) => {
  // No connection until an operation needs one: the owner role is used by rebuilds only.
  const pool = new Pool({ connectionString, max, application_name: applicationName });
  pool.on('error', () => undefined);
  return pool;
};

/** The admin API (`/admin/cqrs/*`) over the projection module's projections, pool and Kafka client. */
@Module({})
export class AdminModule {
  static forRoot(config: ProjectorConfig, projection: DynamicModule): DynamicModule {
    return {
      module: AdminModule,
      imports: [projection],
      controllers: [AdminController],
      providers: [
        {
          provide: OWNER_POOL,
          useFactory: () =>
            config.ADMIN_REBUILD_DATABASE_URL
              ? lazyPool(config.ADMIN_REBUILD_DATABASE_URL, 'projector-admin-owner', 2)
              : null,
        },
        {
          provide: EVENT_STORE_POOL,
          useFactory: () => lazyPool(config.EVENT_STORE_DATABASE_URL, 'projector-admin', 4),
        },
        {
          provide: AdminService,
          inject: [PROJECTIONS, Pool, 'KAFKA', DeadLetterPublisher, PinoLogger, OWNER_POOL, EVENT_STORE_POOL],
          useFactory: (
            projections: RunningProjection[],
            pool: Pool,
            kafka: Kafka,
            dlq: DeadLetterPublisher,
            logger: PinoLogger,
            ownerPool: Pool | null,
            eventStore: Pool,
          ) =>
            new AdminService({
              config,
              projections,
              pool,
              ownerPool: ownerPool ?? undefined,
              eventStore,
              kafka,
              dlq,
              logger,
            }),
        },
        AdminLifecycle,
      ],
    };
  }
}
