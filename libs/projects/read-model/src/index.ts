/**
 * The projects read side's data access: the read database's tables and grants (migrations) and
 * the projection that keeps them up to date from projects.project.events.
 */
export * from './lib/read-model';
export * from './lib/project-view.projection';
export * from './lib/task-progress.projection';
export * from './lib/project.reader';
