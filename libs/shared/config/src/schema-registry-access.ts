import {
  envValue,
  pemFileFromEnv,
  rotatingSecretFromEnv,
  secretFromEnv,
  type ConfigIssue,
  type EnvSource,
} from './env-secrets';
import { ConfigError } from './load-config';

// Here rather than in @cqrs/messaging (whose createSchemaRegistry uses it) so that tests'
// infrastructure (@cqrs/testing) can parse the same settings without the messaging lib.

/** How a client authenticates to, and trusts, the schema registry (everything but its URL). */
export interface SchemaRegistryAccess {
  /** Basic auth (Confluent Cloud API key and secret; Apicurio client id and secret). */
  auth?: { username: string; password: string };
  /** A bearer token: a value, or a function asked on every request (a token file that rotates). */
  token?: string | (() => string);
  /** PEM bundle to trust for an https URL (instead of Node's CAs). */
  ca?: string;
}

/** The registry's URL with its {@link SchemaRegistryAccess}. */
export interface SchemaRegistryConnection extends SchemaRegistryAccess {
  /**
   * Base URL of the Confluent API, e.g. `http://127.0.0.1:8081/apis/ccompat/v7` for Apicurio
   * or `http://127.0.0.1:8081` for Confluent.
   */
  url: string;
}

/**
 * The `authorization` header the registry client sends (basic auth or bearer token), for other
 * requests to the registry, e.g. a readiness probe; empty without credentials.
 */
export function schemaRegistryHeaders(access: SchemaRegistryAccess): Record<string, string> {
  if (access.token)
    return { authorization: `Bearer ${typeof access.token === 'function' ? access.token() : access.token}` };
  if (access.auth)
    return {
      authorization: `Basic ${Buffer.from(`${access.auth.username}:${access.auth.password}`).toString('base64')}`,
    };
  return {};
}

/**
 * Registry credentials and trust from the environment: `SCHEMA_REGISTRY_CA_FILE` (PEM bundle),
 * basic auth `SCHEMA_REGISTRY_USERNAME` + `SCHEMA_REGISTRY_PASSWORD`, or a bearer token
 * `SCHEMA_REGISTRY_TOKEN`; secrets may be files (`X_FILE`), and a token file is re-read when it
 * changes. All optional (none: an open registry). Inconsistent settings throw a
 * {@link ConfigError} naming each variable, never a secret.
 */
export function schemaRegistryAccessFromEnv(env: EnvSource = process.env): SchemaRegistryAccess {
  const issues: ConfigIssue[] = [];
  const access = readAccess(env, issues);
  if (issues.length > 0) throw new ConfigError('schema-registry', issues);
  return access;
}

/** {@link schemaRegistryAccessFromEnv} with the URL, `SCHEMA_REGISTRY_URL` (required). */
export function schemaRegistryOptionsFromEnv(env: EnvSource = process.env): SchemaRegistryConnection {
  const issues: ConfigIssue[] = [];
  const url = envValue(env, 'SCHEMA_REGISTRY_URL');
  if (url === undefined) issues.push({ variable: 'SCHEMA_REGISTRY_URL', message: 'is required' });
  else if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url))
    issues.push({ variable: 'SCHEMA_REGISTRY_URL', message: 'must be an http(s) URL' });
  const access = readAccess(env, issues);
  if (issues.length > 0) throw new ConfigError('schema-registry', issues);
  return { url: url as string, ...access };
}

function readAccess(env: EnvSource, issues: ConfigIssue[]): SchemaRegistryAccess {
  const ca = pemFileFromEnv(env, 'SCHEMA_REGISTRY_CA_FILE', issues, 'CERTIFICATE');
  const username = envValue(env, 'SCHEMA_REGISTRY_USERNAME');
  const password = secretFromEnv(env, 'SCHEMA_REGISTRY_PASSWORD', issues);
  const token = rotatingSecretFromEnv(env, 'SCHEMA_REGISTRY_TOKEN', issues);
  const passwordSet =
    envValue(env, 'SCHEMA_REGISTRY_PASSWORD') !== undefined ||
    envValue(env, 'SCHEMA_REGISTRY_PASSWORD_FILE') !== undefined;
  if (username !== undefined && !passwordSet)
    issues.push({
      variable: 'SCHEMA_REGISTRY_PASSWORD',
      message: '(or SCHEMA_REGISTRY_PASSWORD_FILE) is required with SCHEMA_REGISTRY_USERNAME',
    });
  if (username === undefined && passwordSet)
    issues.push({ variable: 'SCHEMA_REGISTRY_USERNAME', message: 'is required with SCHEMA_REGISTRY_PASSWORD' });
  const tokenSet =
    envValue(env, 'SCHEMA_REGISTRY_TOKEN') !== undefined || envValue(env, 'SCHEMA_REGISTRY_TOKEN_FILE') !== undefined;
  if (tokenSet && (username !== undefined || passwordSet)) {
    issues.push({
      variable: 'SCHEMA_REGISTRY_TOKEN',
      message: 'set either a bearer token or SCHEMA_REGISTRY_USERNAME/PASSWORD, not both',
    });
  }
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(username !== undefined && password !== undefined ? { auth: { username, password } } : {}),
    ...(token !== undefined && !(username !== undefined || passwordSet)
      ? { token: envValue(env, 'SCHEMA_REGISTRY_TOKEN_FILE') ? token : token() }
      : {}),
  };
}
