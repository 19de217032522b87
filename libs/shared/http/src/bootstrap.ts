import { ConfigError } from '@cqrs/config';
import { serviceIdentity } from '@cqrs/observability';
import type { DynamicModule } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { DevelopmentIssuerError } from './auth/auth.errors';
import { createHttpApp } from './create-http-app';
import { DEFAULT_MAX_HEADER_SIZE } from './http-server-errors';
import { listenManagement } from './management-server';

interface ServiceConfig {
  PORT: number;
  HTTP_BODY_LIMIT?: string;
  HTTP_SHUTDOWN_DRAIN_MS?: number;
  /** Present on API services ({@link apiServiceConfig}). */
  MANAGEMENT_PORT?: number;
  CORS_ORIGINS?: string;
  API_PUBLIC_URL?: string;
  NODE_ENV?: string;
}

export interface ServiceDefinition<C extends ServiceConfig> {
  service: string;
  description: string;
  /** Reads and validates the environment (throws ConfigError). */
  loadConfig: () => C;
  /** The app's root module for that config. */
  module: (config: C) => DynamicModule;
}

/**
 * The whole entry point of a service: config read once (a bad value exits with status 2 and a
 * readable list of problems, not a stack trace), then the HTTP app on `PORT` and, for an API
 * service, its management endpoints on `MANAGEMENT_PORT`. Production with the development token
 * issuer exits with status 2 too, before listening.
 */
export async function bootstrap<C extends ServiceConfig>(definition: ServiceDefinition<C>): Promise<void> {
  let config: C;
  try {
    config = definition.loadConfig();
    if (config.MANAGEMENT_PORT !== undefined && config.MANAGEMENT_PORT === config.PORT) {
      throw new ConfigError(definition.service, [
        {
          variable: 'MANAGEMENT_PORT',
          message: `must differ from PORT (${config.PORT}): the API port serves only the API`,
        },
      ]);
    }
  } catch (error) {
    if (error instanceof ConfigError) exit(error.message);
    throw error;
  }
  const management = config.MANAGEMENT_PORT;
  const apiUrl = config.API_PUBLIC_URL ?? `http://127.0.0.1:${config.PORT}`;
  const corsOrigins =
    config.CORS_ORIGINS !== undefined
      ? config.CORS_ORIGINS.split(',')
          .map((o) => o.trim())
          .filter(Boolean)
      : management !== undefined && config.NODE_ENV === 'development'
        ? [`http://127.0.0.1:${management}`, `http://localhost:${management}`]
        : [];
  const root = definition.module(config);
  const app = await createHttpApp(root.module, {
    service: definition.service,
    version: serviceIdentity(definition.service).version,
    description: definition.description,
    bodyLimit: config.HTTP_BODY_LIMIT,
    shutdownDrainMs: config.HTTP_SHUTDOWN_DRAIN_MS,
    dynamicModule: root,
    managementPort: management !== undefined,
    bearerAuth: 'OIDC_ISSUER_URL' in config,
    corsOrigins,
    apiUrl: management !== undefined ? apiUrl : undefined,
  });
  try {
    await app.listen(config.PORT, '0.0.0.0');
  } catch (error) {
    if (error instanceof DevelopmentIssuerError) exit(`${definition.service}: ${error.message}`);
    throw error;
  }
  if (management !== undefined) await listenManagement(app, management, '0.0.0.0', DEFAULT_MAX_HEADER_SIZE);
  app
    .get(Logger)
    .log(
      `${definition.service} listening on :${config.PORT}${management !== undefined ? `, management on :${management}` : ''}`,
    );
}

function exit(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}
