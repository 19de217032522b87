import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import type { QueryServiceConfig } from '../config';

/** Injection token of the read database pool. */
export const READ_POOL = Symbol('READ_POOL');

@Injectable()
class ReadPoolLifecycle implements OnApplicationShutdown {
  constructor(@Inject(READ_POOL) private readonly pool: Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * The read database, as the query role (SELECT only), shared by every context's queries. Global,
 * so a context's module injects {@link READ_POOL} without importing it.
 */
@Global()
@Module({})
export class ReadDatabaseModule {
  static forRoot(config: QueryServiceConfig): DynamicModule {
    return {
      module: ReadDatabaseModule,
      providers: [
        {
          provide: READ_POOL,
          useFactory: () => {
            const pool = new Pool({
              connectionString: config.DATABASE_URL,
              max: config.DATABASE_POOL_SIZE,
              application_name: 'query-service',
              // Both make the repositories answer 503 READ_MODEL_UNAVAILABLE instead of piling up requests.
              connectionTimeoutMillis: config.DATABASE_ACQUIRE_TIMEOUT_MS,
              statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS,
            });
            // An idle client's error (e.g. the server restarted) must not crash the process.
            pool.on('error', () => undefined);
            return pool;
          },
        },
        ReadPoolLifecycle,
      ],
      exports: [READ_POOL],
    };
  }
}
