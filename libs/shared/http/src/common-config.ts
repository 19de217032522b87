import { env } from '@cqrs/config';
import { z } from 'zod';
import { authConfig } from './auth/auth-config';

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

/**
 * Environment of a service with a public API (command and query services): the common settings,
 * the management port (health, metrics, docs; the API port serves only the API), browser origins
 * and the caller authentication of {@link authConfig}.
 */
export const apiServiceConfig = (port: number, managementPort: number) => ({
  ...commonServiceConfig(port),
  ...authConfig(),
  MANAGEMENT_PORT: env.port(managementPort),
  /**
   * Browser origins allowed to call the API (CORS), comma-separated; unset: this app's Swagger
   * page on the management port with NODE_ENV=development (`npm start`), none otherwise; empty: none.
   */
  CORS_ORIGINS: z.string().optional(),
  /** The API's public base URL, for the OpenAPI document (the Swagger page calls it); unset: http://127.0.0.1:PORT. */
  API_PUBLIC_URL: z.string().url().optional(),
});
