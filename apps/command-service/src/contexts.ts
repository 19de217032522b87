import type { ContextModule } from '@cqrs/http';
import type { UpcasterSteps } from '@cqrs/util';
import type { CommandServiceConfig } from './config';
import { projectsContext } from './projects/projects.context';
import { tasksContext } from './tasks/tasks.context';

/** A bounded context's commands in this service, and the upcasters of the events it stores. */
export interface CommandSideContext extends ContextModule<CommandServiceConfig> {
  upcasters?: UpcasterSteps;
}

/**
 * The registration point: the bounded contexts this service hosts. Each brings its module
 * (routes, handlers, encoder) and shares the service's event store; the generators add entries.
 */
export const COMMAND_CONTEXTS: readonly CommandSideContext[] = [tasksContext, projectsContext];
