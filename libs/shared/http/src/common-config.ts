import { env } from '@cqrs/config';
import { z } from 'zod';

/** Environment every HTTP service reads, with defaults for `npm start`. */
export const commonServiceConfig = (port: number) => ({
  PORT: env.port(port),
  HTTP_BODY_LIMIT: env.string('64kb'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: env.bool(false),
  /** How long one readiness evaluation answers every `/health/ready` probe (ms; 0: every probe checks). */
  READINESS_CACHE_MS: env.int(1000, 0),
});
