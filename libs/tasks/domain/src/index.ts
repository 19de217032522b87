export * from './lib/task.commands';
export * from './lib/task.events';
export * from './lib/task.state';
export * from './lib/task.errors';
export { TASK_LIMITS, isIsoDate } from './lib/task.validation';
export { decide, isVisibleTo, taskDecider, validateTaskCommand, ALLOWED_IN } from './lib/task.decider';
export { TASK_UPCASTER_STEPS, taskUpcasters } from './lib/task.upcasters';
