export * from './lib/read-database';
export * from './lib/projected-event';
export * from './lib/stream-batch';
export * from './lib/running-projection';
export * from './lib/stream-projection';
export * from './lib/reset';
export * from './lib/stream-changes';
export * from './lib/projection-topics';
