export * from './lib/tasks-contracts';
