import { env, loadConfig } from '@cqrs/config';
import { commonServiceConfig } from '@cqrs/http';

/** Read once at start-up; the defaults match `npm start` on the local stack. */
export const loadProjectorConfig = (source: NodeJS.ProcessEnv = process.env) =>
  loadConfig(
    'projector',
    {
      ...commonServiceConfig(3002),
      DATABASE_URL: env.url('postgres://cqrs_projector:cqrs@127.0.0.1:5433/cqrs_read'),
      KAFKA_BROKERS: env.list('127.0.0.1:9092'),
      SCHEMA_REGISTRY_URL: env.url('http://127.0.0.1:8081/apis/ccompat/v7'),
    },
    source,
  );

export type ProjectorConfig = ReturnType<typeof loadProjectorConfig>;
