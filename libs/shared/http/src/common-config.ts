import { env } from '@cqrs/config';
import { z } from 'zod';

/** Environment every HTTP service reads, with defaults for `npm start`. */
export const commonServiceConfig = (port: number) => ({
  PORT: env.port(port),
  HTTP_BODY_LIMIT: env.string('64kb'),
  /** After SIGTERM, how long the server keeps answering (each response closing its connection) before it stops. */
  HTTP_SHUTDOWN_DRAIN_MS: env.int(1000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: env.bool(false),
  /** How long one readiness evaluation answers every `/health/ready` probe (ms; 0: every probe checks). */
  READINESS_CACHE_MS: env.int(1000, 0),
});
