import type { ContextModule } from '@cqrs/http';
import type { QueryServiceConfig } from './config';
import { projectsContext } from './projects/projects.context';
import { tasksContext } from './tasks/tasks.context';

/**
 * The registration point: the bounded contexts whose queries this service answers. Each brings
 * its module (routes, repository, caches, change feed) and shares the read pool; the generators
 * add entries.
 */
export const QUERY_CONTEXTS: readonly ContextModule<QueryServiceConfig>[] = [tasksContext, projectsContext];
