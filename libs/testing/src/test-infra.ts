// @cqrs/config, not @cqrs/messaging: the messaging lib's own tests use this one.
import {
  kafkaSecurityFromEnv,
  schemaRegistryHeaders,
  schemaRegistryOptionsFromEnv,
  type KafkaSecurity,
  type SchemaRegistryConnection,
} from '@cqrs/config';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { resolveInfraSettings, type InfraSettings } from './infra-settings';

export { parseEnvFile, registerSchemas, repoRoot, SECURITY_VARIABLES } from './infra-settings';
export type { InfraSettings } from './infra-settings';

/** Connection settings for the real servers a test talks to, with its clients' security parsed. */
export interface TestInfra extends Omit<InfraSettings, 'kafka' | 'schemaRegistry'> {
  /** Spread into `createKafka({ clientId, ...infra.kafka })` (@cqrs/messaging): brokers, TLS and SASL (the admin identity). */
  kafka: { brokers: string[]; security: KafkaSecurity };
  /** Pass to `createSchemaRegistry(infra.schemaRegistry)` (@cqrs/messaging): the URL with its CA and credentials. */
  schemaRegistry: SchemaRegistryConnection;
}

let pending: Promise<TestInfra> | undefined;

/**
 * Hands a test its connection settings, provisioning the servers if needed: environment
 * variables, else Docker, else the native stack (see `resolveInfraSettings`). Memoised per
 * process; the settings, with the TLS and credential variables, are also exported to
 * `process.env`, so child processes (apps started by e2e tests, CLIs) see the same servers with
 * the same (admin) identity unless a test gives them their own ({@link kafkaCredentials}).
 */
export function getTestInfra(): Promise<TestInfra> {
  pending ??= resolveInfraSettings().then((settings) => {
    const env = { ...settings.securityEnv, SCHEMA_REGISTRY_URL: settings.schemaRegistry.url };
    return {
      ...settings,
      kafka: { brokers: settings.kafka.brokers, security: kafkaSecurityFromEnv(env) },
      schemaRegistry: schemaRegistryOptionsFromEnv(env),
    };
  });
  return pending;
}

/** The stack's secret file of an identity (`$CQRS_STACK_SECRETS/<kind>-<user>.password`); throws when there is none. */
function secretFile(kind: 'kafka' | 'registry', user: string): string {
  const dir = process.env['CQRS_STACK_SECRETS'];
  if (!dir)
    throw new Error(
      `no ${kind} password for ${user}: CQRS_STACK_SECRETS is not set (the stack runs without authentication)`,
    );
  const file = join(dir, `${kind}-${user}.password`);
  try {
    readFileSync(file);
  } catch (error) {
    throw new Error(
      `no ${kind} password for ${user}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  return file;
}

/**
 * Environment that makes a client (an app started with `startApp`, or `kafkaSecurityFromEnv`)
 * authenticate to Kafka as `user` (`cqrs-relay`, `cqrs-projector`, ...) instead of the tests'
 * admin: its username and `$CQRS_STACK_SECRETS/kafka-<user>.password`. The admin's password
 * variable is cleared (undefined), since a value and a file together are refused.
 */
export function kafkaCredentials(user: string): Record<string, string | undefined> {
  return {
    KAFKA_SASL_USERNAME: user,
    KAFKA_SASL_PASSWORD_FILE: secretFile('kafka', user),
    KAFKA_SASL_PASSWORD: undefined,
  };
}

/** Like {@link kafkaCredentials}, for the schema registry (`registry-<user>.password`, basic auth). */
export function registryCredentials(user: string): Record<string, string | undefined> {
  return {
    SCHEMA_REGISTRY_USERNAME: user,
    SCHEMA_REGISTRY_PASSWORD_FILE: secretFile('registry', user),
    SCHEMA_REGISTRY_PASSWORD: undefined,
    SCHEMA_REGISTRY_TOKEN: undefined,
    SCHEMA_REGISTRY_TOKEN_FILE: undefined,
  };
}

/** The Kafka security of `user` on the test infrastructure (TLS as the tests', SASL as `user`): for `createKafka`. */
export function kafkaSecurityAs(user: string): KafkaSecurity {
  return kafkaSecurityFromEnv({ ...process.env, ...kafkaCredentials(user) });
}

/** Each app's own identity, as `npm start` (tools/scripts/apps.sh) runs it. */
export const APP_IDENTITIES = {
  'command-service': 'cqrs-command',
  'query-service': 'cqrs-query',
  projector: 'cqrs-projector',
  'outbox-relay': 'cqrs-relay',
} as const;

/**
 * Environment for `startApp(app, ...)` that runs the app as its own identity, as `npm start`
 * does: Kafka credentials for the apps that use Kafka (projector, relay), registry credentials
 * for those that use the registry (command service, projector); the others get none at all.
 */
export function appIdentityEnv(app: keyof typeof APP_IDENTITIES): Record<string, string | undefined> {
  const user = APP_IDENTITIES[app];
  const none = Object.fromEntries(
    [
      'KAFKA_SASL_USERNAME',
      'KAFKA_SASL_PASSWORD',
      'KAFKA_SASL_PASSWORD_FILE',
      'SCHEMA_REGISTRY_USERNAME',
      'SCHEMA_REGISTRY_PASSWORD',
      'SCHEMA_REGISTRY_PASSWORD_FILE',
    ].map((n) => [n, undefined]),
  );
  const usesKafka = app === 'projector' || app === 'outbox-relay';
  const usesRegistry = app === 'command-service' || app === 'projector';
  return { ...none, ...(usesKafka ? kafkaCredentials(user) : {}), ...(usesRegistry ? registryCredentials(user) : {}) };
}

/**
 * An HTTP request to the schema registry's API (`path` below its URL) as the tests' identity:
 * its credentials, and its CA for an https registry (what a plain `fetch` cannot take).
 */
export function registryRequest(
  registry: SchemaRegistryConnection,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string }> {
  const url = new URL(`${registry.url.replace(/\/+$/, '')}${path}`);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      {
        method: init.method ?? 'GET',
        headers: { ...schemaRegistryHeaders(registry), ...init.headers },
        ...(registry.ca && url.protocol === 'https:' ? { ca: registry.ca } : {}),
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(init.body);
  });
}
