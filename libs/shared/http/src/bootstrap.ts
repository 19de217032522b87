import { ConfigError } from '@cqrs/config';
import { serviceIdentity } from '@cqrs/observability';
import type { DynamicModule } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { createHttpApp } from './create-http-app';

export interface ServiceDefinition<C extends { PORT: number; HTTP_BODY_LIMIT?: string; HTTP_SHUTDOWN_DRAIN_MS?: number }> {
  service: string;
  description: string;
  /** Reads and validates the environment (throws ConfigError). */
  loadConfig: () => C;
  /** The app's root module for that config. */
  module: (config: C) => DynamicModule;
}

/**
 * The whole entry point of a service: config read once (a bad value exits with status 2 and a
 * readable list of problems, not a stack trace), then the HTTP app on `PORT`.
 */
export async function bootstrap<C extends { PORT: number; HTTP_BODY_LIMIT?: string; HTTP_SHUTDOWN_DRAIN_MS?: number }>(
  definition: ServiceDefinition<C>,
): Promise<void> {
  let config: C;
  try {
    config = definition.loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const root = definition.module(config);
  const app = await createHttpApp(root.module, {
    service: definition.service,
    version: serviceIdentity(definition.service).version,
    description: definition.description,
    bodyLimit: config.HTTP_BODY_LIMIT,
    shutdownDrainMs: config.HTTP_SHUTDOWN_DRAIN_MS,
    dynamicModule: root,
  });
  await app.listen(config.PORT, '0.0.0.0');
  app.get(Logger).log(`${definition.service} listening on :${config.PORT}`);
}
