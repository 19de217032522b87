export * from './lib/tasks-read-model';
