export * from './lib/tasks-domain';
