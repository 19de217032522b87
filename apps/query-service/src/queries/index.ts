/**
 * The context-independent query plumbing of this service: what a bounded context's read routes
 * are built from (read-your-writes, caches, ETags, owner scoping, error answers).
 */
export * from '../cache/query-cache';
export * from '../consistency/min-version';
export * from '../consistency/version-waiter';
export * from './observe-query';
export * from './query-answer';
export * from './query-config';
export * from './query-docs';
export * from './read-model-errors';
export * from './read-your-writes';
export * from './reader';
