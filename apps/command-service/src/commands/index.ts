/**
 * The context-independent command plumbing of this service: what a bounded context's command
 * routes, executor and outbox encoder are built from.
 */
export * from './aggregate-command.executor';
export * from './command-context';
export * from './command-metrics.interceptor';
export * from './command-routes';
export * from './contract-event.encoder';
