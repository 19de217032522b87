import type { ContextModule } from '@cqrs/http';
import type { QueryServiceConfig } from '../config';
import { ChangeFeed } from '../read-model/change-feed';
import { TasksModule } from './tasks.module';

/** The tasks context in the query service. */
export const tasksContext: ContextModule<QueryServiceConfig> = {
  name: 'tasks',
  module: (config) => TasksModule.forRoot(config),
  readiness: {
    inject: [ChangeFeed],
    checks: (feed: ChangeFeed) => [
      {
        // Without the feed, caches cannot learn about changes and read-your-writes waits are not woken.
        name: 'change-feed',
        check: async () => {
          if (!feed.connected) throw new Error('not LISTENing to the projector’s change notifications');
        },
      },
    ],
  },
};
