export * from './lib/project.commands';
export * from './lib/project.events';
export * from './lib/project.state';
export * from './lib/project.errors';
export { PROJECT_LIMITS } from './lib/project.validation';
export { decide, ownedProject, projectDecider, validateProjectCommand } from './lib/project.decider';
