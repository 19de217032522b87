export * from './lib/event-store.types';
export * from './lib/event-store.errors';
export { AppendFailedError, PostgresEventStore, type EventStore, type EventStoreOptions } from './lib/postgres-event-store';
export { handleCommand, type HandleCommandOptions, type CommandResult, type CommandOutcome } from './lib/handle-command';
export { LruAggregateCache, type AggregateCache } from './lib/aggregate-cache';
export { hashRequest } from './lib/idempotency';
export { isSnapshotDue } from './lib/snapshot-policy';
export {
  createEventStoreDataSource,
  eventStoreDataSourceOptions,
  type EventStoreConnectionOptions,
} from './lib/data-source';
export { runEventStoreMigrations, runMigrationsLocked, migrateEventStore, describeDatabaseError, redactUrl } from './lib/migrate';
export { EVENT_STORE_MIGRATIONS, EVENT_STORE_MIGRATIONS_TABLE, OUTBOX_PUBLICATION, WRITE_DATABASE_ROLES } from './lib/migrations';
