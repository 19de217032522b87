import { projectsProjection, projectsReadModel, taskProgressProjection } from '@cqrs/projects-read-model';
import { streamProjectionContext } from '../projector-context';

/**
 * The projects context in the projector: its own events into its project views, and the tasks
 * context's published events into its task states (the cross-context projection).
 */
export const projectsContext = streamProjectionContext({
  name: 'projects',
  readModel: projectsReadModel,
  projections: [projectsProjection, taskProgressProjection],
});
