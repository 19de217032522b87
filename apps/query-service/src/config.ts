import { env, loadConfig } from '@cqrs/config';
import { commonServiceConfig } from '@cqrs/http';

/** Read once at start-up; the defaults match `npm start` on the local stack. */
export const loadQueryServiceConfig = (source: NodeJS.ProcessEnv = process.env) =>
  loadConfig(
    'query-service',
    {
      ...commonServiceConfig(3001),
      DATABASE_URL: env.url('postgres://cqrs_query:cqrs@127.0.0.1:5433/cqrs_read'),
    },
    source,
  );

export type QueryServiceConfig = ReturnType<typeof loadQueryServiceConfig>;
