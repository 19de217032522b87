export * from './consumed-record';
export * from './batch-consumer';
export * from './dead-letter.publisher';
export * from './consumer-lag';
export * from './kafka-client';
export * from './topics';
