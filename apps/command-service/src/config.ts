import { env, loadConfig } from '@cqrs/config';
import { commonServiceConfig } from '@cqrs/http';

/** Read once at start-up; the defaults match `npm start` on the local stack. */
export const loadCommandServiceConfig = (source: NodeJS.ProcessEnv = process.env) =>
  loadConfig(
    'command-service',
    {
      ...commonServiceConfig(3000),
      DATABASE_URL: env.url('postgres://cqrs_command:cqrs@127.0.0.1:5433/cqrs_write'),
      SCHEMA_REGISTRY_URL: env.url('http://127.0.0.1:8081/apis/ccompat/v7'),
    },
    source,
  );

export type CommandServiceConfig = ReturnType<typeof loadCommandServiceConfig>;
