import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';

/** How to reach a Confluent-compatible schema registry. */
export interface SchemaRegistryOptions {
  /**
   * Base URL of the Confluent API, e.g. `http://127.0.0.1:8081/apis/ccompat/v7` for Apicurio
   * or `http://127.0.0.1:8081` for Confluent.
   */
  url: string;
  /** Basic auth, for hosted registries. */
  auth?: { username: string; password: string };
  /** Retries per request on network errors, with the client's exponential backoff. @default 3 */
  retries?: number;
  /** Sent as the client id / user agent. @default 'cqrs-serde' */
  clientId?: string;
}

/** A `@kafkajs/confluent-schema-registry` client for {@link AvroSerde}. */
export function createSchemaRegistry(options: SchemaRegistryOptions): SchemaRegistry {
  return new SchemaRegistry({
    host: options.url.replace(/\/+$/, ''),
    auth: options.auth,
    clientId: options.clientId ?? 'cqrs-serde',
    retry: { retries: options.retries ?? 3 },
  });
}
