import { env } from '@cqrs/config';
import { z } from 'zod';

/** Environment every HTTP service reads, with defaults for `npm start`. */
export const commonServiceConfig = (port: number) => ({
  PORT: env.port(port),
  HTTP_BODY_LIMIT: env.string('64kb'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: env.bool(false),
});
