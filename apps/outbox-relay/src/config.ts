import { env, loadConfig } from '@cqrs/config';
import { commonServiceConfig } from '@cqrs/http';

/** Read once at start-up; the defaults match `npm start` on the local stack. */
export const loadOutboxRelayConfig = (source: NodeJS.ProcessEnv = process.env) =>
  loadConfig(
    'outbox-relay',
    {
      ...commonServiceConfig(3003),
      DATABASE_URL: env.url('postgres://cqrs_relay:cqrs@127.0.0.1:5433/cqrs_write'),
      KAFKA_BROKERS: env.list('127.0.0.1:9092'),
    },
    source,
  );

export type OutboxRelayConfig = ReturnType<typeof loadOutboxRelayConfig>;
