import type { SchemaRegistryConnection } from '@cqrs/config';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Agent } from 'node:https';

// The settings are read from the environment by @cqrs/config (schemaRegistryOptionsFromEnv);
// re-exported here for the apps.
export { schemaRegistryAccessFromEnv, schemaRegistryHeaders, schemaRegistryOptionsFromEnv } from '@cqrs/config';
export type { SchemaRegistryAccess, SchemaRegistryConnection } from '@cqrs/config';

/** How to reach a Confluent-compatible schema registry: URL, credentials, trust, and client settings. */
export interface SchemaRegistryOptions extends SchemaRegistryConnection {
  /** Retries per request on network errors, with the client's exponential backoff. @default 3 */
  retries?: number;
  /** Sent as the client id / user agent. @default 'cqrs-serde' */
  clientId?: string;
}

type Middleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];

/** A `@kafkajs/confluent-schema-registry` client for {@link AvroSerde}. */
export function createSchemaRegistry(options: SchemaRegistryOptions): SchemaRegistry {
  const token = options.token;
  const bearer: Middleware[] = token
    ? [
        () => ({
          async prepareRequest(next) {
            const request = await next();
            return request.enhance({
              headers: { authorization: `Bearer ${typeof token === 'function' ? token() : token}` },
            });
          },
        }),
      ]
    : [];
  return new SchemaRegistry({
    host: options.url.replace(/\/+$/, ''),
    auth: options.auth,
    clientId: options.clientId ?? 'cqrs-serde',
    retry: { retries: options.retries ?? 3 },
    ...(options.ca && options.url.startsWith('https:')
      ? { agent: new Agent({ ca: options.ca, keepAlive: true }) }
      : {}),
    middlewares: bearer,
  });
}
