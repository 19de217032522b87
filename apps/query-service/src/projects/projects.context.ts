import type { ContextModule } from '@cqrs/http';
import type { QueryServiceConfig } from '../config';
import { ProjectsChangeFeed, ProjectsModule } from './projects.module';

/** The projects context in the query service. */
export const projectsContext: ContextModule<QueryServiceConfig> = {
  name: 'projects',
  module: (config) => ProjectsModule.forRoot(config),
  readiness: {
    inject: [ProjectsChangeFeed],
    checks: (feed: ProjectsChangeFeed) => [
      {
        // Without the feed, read-your-writes waits are not woken.
        name: 'projects-change-feed',
        check: async () => {
          if (!feed.connected) throw new Error('not LISTENing to the projects projection’s notifications');
        },
      },
    ],
  },
};
