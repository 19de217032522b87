export * from './avro-serde';
export * from './event-contract';
export * from './registry-errors';
export * from './schema-registry';
export * from './serde-errors';
export * from './wire-format';
