import type { ProjectorContext } from './projector-context';
import { projectsContext } from './projects/projects.context';
import { tasksContext } from './tasks/tasks.context';

export type { ProjectorContext, ProjectorDeps } from './projector-context';

/**
 * The registration point: the bounded contexts whose read models this projector builds. Each
 * brings its read-model migrations and its projections; the generators add entries.
 */
export const PROJECTOR_CONTEXTS: readonly ProjectorContext[] = [tasksContext, projectsContext];
