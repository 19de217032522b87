export * from './kafka-security';
export * from './kafka-client';
export * from './kafka-errors';
export * from './event-topics';
