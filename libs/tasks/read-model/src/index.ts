/**
 * The tasks read side's data access: the read database's schema (generations, views,
 * migrations), the projection (the domain's fold plus per-user statistics), the sequencing rules
 * that make effects exactly-once and ordered, the projector's writer and the query side's reader.
 */
export * from './lib/schema/read-model.schema';
export * from './lib/schema/generations';
export * from './lib/migrations';
export { migrateReadModel } from './lib/migrate';
export * from './lib/notifications';
export * from './lib/projection/task-view.projection';
export * from './lib/projection/task-event.from-contract';
export * from './lib/sequencing/stream-sequencer';
export * from './lib/store/task-read-model.writer';
export * from './lib/store/batch-statement';
export * from './lib/store/parked-events';
export * from './lib/store/task-read.repository';
export * from './lib/store/read-model-unavailable.error';
export * from './lib/store/record-overrides';
export * from './lib/store/batch-group';
export * from './lib/store/rebuild-progress';
export * from './lib/store/stream-repair';
