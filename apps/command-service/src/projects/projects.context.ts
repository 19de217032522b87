import type { ContextModule } from '@cqrs/http';
import type { CommandServiceConfig } from '../config';
import type { CommandSideContext } from '../contexts';
import { ProjectEventEncoder } from './project-event.encoder';
import { ProjectsModule } from './projects.module';

/** The projects context in the command service. */
export const projectsContext: CommandSideContext = {
  name: 'projects',
  module: (config: CommandServiceConfig) => ProjectsModule.forRoot(config),
  readiness: {
    inject: [ProjectEventEncoder],
    // Not the registry itself: warm encoders never ask it, so its outage must not take us out of service.
    checks: (encoder: ProjectEventEncoder) => [{ name: 'projects-encoders', check: () => encoder.warm() }],
  } satisfies ContextModule<CommandServiceConfig>['readiness'],
};
