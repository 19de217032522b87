export * from './lib/event-store.types';
export * from './lib/event-store.errors';
export {
  AppendFailedError,
  PostgresEventStore,
  type EventStore,
  type EventStoreMaintenance,
  type EventStoreOptions,
} from './lib/postgres-event-store';
export {
  DEFAULT_SNAPSHOT_KEEP,
  DEFAULT_SNAPSHOT_MAX_AGE_MS,
  type PruneSnapshotsOptions,
  type PruneSnapshotsResult,
  type SnapshotGroupStats,
  type SnapshotStats,
  type TakeSnapshotOptions,
  type TakeSnapshotResult,
} from './lib/snapshots';
export {
  type ArchiveStreamsOptions,
  type ArchiveStreamsResult,
  type EventStoreSize,
  type TableSize,
} from './lib/archive';
export {
  handleCommand,
  type HandleCommandOptions,
  type CommandResult,
  type CommandOutcome,
} from './lib/handle-command';
export { LruAggregateCache, type AggregateCache } from './lib/aggregate-cache';
export { hashRequest } from './lib/idempotency';
export { isSnapshotDue } from './lib/snapshot-policy';
export { jitteredDelay, repeatWithJitter, type RepeatingTask, type RepeatOptions } from './lib/repeating-task';
export {
  createEventStoreDataSource,
  eventStoreDataSourceOptions,
  type EventStoreConnectionOptions,
} from './lib/data-source';
export {
  runEventStoreMigrations,
  runMigrationsLocked,
  migrateEventStore,
  describeDatabaseError,
  redactUrl,
} from './lib/migrate';
export {
  ARCHIVED_STREAMS_TABLE,
  EVENT_STORE_MIGRATIONS,
  EVENT_STORE_MIGRATIONS_TABLE,
  EVENTS_ARCHIVE_TABLE,
  OUTBOX_PUBLICATION,
  WRITE_DATABASE_ROLES,
} from './lib/migrations';
export {
  EventStoreReader,
  EventStoreSnapshot,
  StoreEventUpcastError,
  type StoreEvent,
  type StoreEventBatch,
  type StoreReadOptions,
} from './lib/event-store-reader';
