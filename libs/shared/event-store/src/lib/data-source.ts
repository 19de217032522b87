import { DataSource, type DataSourceOptions } from 'typeorm';
import { EVENT_STORE_MIGRATIONS, EVENT_STORE_MIGRATIONS_TABLE } from './migrations';

/** Connection settings of the write database. */
export interface EventStoreConnectionOptions {
  /** e.g. `postgres://cqrs_command:cqrs@127.0.0.1:5433/cqrs_write` */
  url: string;
  /** Maximum pooled connections. @default 10 */
  poolSize?: number;
  /** Shown in `pg_stat_activity`, so a DBA can tell the services apart. @default 'cqrs-event-store' */
  applicationName?: string;
  /**
   * Give up after this long waiting for a connection: connecting a new one, or (pg-pool applies
   * the same limit) waiting for a busy pool to free one. @default 10000
   */
  connectTimeoutMs?: number;
}

/**
 * TypeORM options for the write database with the event store's migrations registered and
 * schema synchronisation off (the schema changes only through migrations). Spread them into
 * `TypeOrmModule.forRootAsync` or pass them to `new DataSource()`.
 */
export function eventStoreDataSourceOptions(options: EventStoreConnectionOptions): DataSourceOptions {
  return {
    type: 'postgres',
    url: options.url,
    poolSize: options.poolSize ?? 10,
    applicationName: options.applicationName ?? 'cqrs-event-store',
    connectTimeoutMS: options.connectTimeoutMs ?? 10_000,
    synchronize: false,
    migrationsRun: false,
    migrations: EVENT_STORE_MIGRATIONS,
    migrationsTableName: EVENT_STORE_MIGRATIONS_TABLE,
    migrationsTransactionMode: 'each',
    entities: [],
    logging: false,
  };
}

/** A (not yet initialised) DataSource for the write database; call `initialize()` before use. */
export function createEventStoreDataSource(options: EventStoreConnectionOptions): DataSource {
  return new DataSource(eventStoreDataSourceOptions(options));
}
