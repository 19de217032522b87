/**
 * How the schema tools reach and authenticate to the registry, from the project's environment
 * contract (docs/security.md, "Schema registry credentials"):
 *
 *   SCHEMA_REGISTRY_URL                          the Confluent API base
 *   SCHEMA_REGISTRY_CA_FILE                      PEM bundle to trust (default: Node's CAs)
 *   SCHEMA_REGISTRY_USERNAME, SCHEMA_REGISTRY_PASSWORD(_FILE)   HTTP basic (Confluent Cloud API
 *                                                key/secret; Apicurio client id/secret)
 *   SCHEMA_REGISTRY_TOKEN(_FILE)                 a static bearer token (the file is read at each
 *                                                request, so a rotated token applies at once)
 *
 * Secrets are never logged: {@link describeAccess} names the method and the user only.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { Agent } from 'undici';

/** The registry configuration is unusable (both X and X_FILE, a missing file, ...). */
export class RegistryConfigError extends Error {
  override name = 'RegistryConfigError';
}

export type RegistryAuth =
  | { kind: 'none' }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'bearer'; token: () => string };

export interface RegistryAccess {
  url: string;
  auth: RegistryAuth;
  /** The PEM bundle of SCHEMA_REGISTRY_CA_FILE, trusted instead of Node's CAs. */
  ca?: string;
  /** Where the CA came from, for messages. */
  caFile?: string;
}

type Env = Record<string, string | undefined>;

/** `X`, else the content of the file `X_FILE` (trailing newline trimmed); both set is an error. */
function secretOf(env: Env, name: string): (() => string) | undefined {
  const value = env[name];
  const file = env[`${name}_FILE`];
  if (value && file) throw new RegistryConfigError(`set ${name} or ${name}_FILE, not both`);
  if (value) return () => value;
  if (!file) return undefined;
  const read = () => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new RegistryConfigError(
        `${name}_FILE=${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
    const secret = text.replace(/\r?\n$/, '');
    if (!secret) throw new RegistryConfigError(`${name}_FILE=${file} is empty`);
    return secret;
  };
  read(); // fail at start-up, not at the first request
  return read;
}

/**
 * The access described by `env` (SCHEMA_REGISTRY_* variables); `url` overrides
 * SCHEMA_REGISTRY_URL. Throws {@link RegistryConfigError} on a contradictory or unreadable setting.
 */
export function registryAccessFromEnv(env: Env, url: string): RegistryAccess {
  const username = env['SCHEMA_REGISTRY_USERNAME'];
  const password = secretOf(env, 'SCHEMA_REGISTRY_PASSWORD');
  const token = secretOf(env, 'SCHEMA_REGISTRY_TOKEN');
  if (token && (username || password))
    throw new RegistryConfigError('set SCHEMA_REGISTRY_TOKEN(_FILE) or SCHEMA_REGISTRY_USERNAME/PASSWORD, not both');
  if (!username !== !password)
    throw new RegistryConfigError('SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD(_FILE) go together');
  const auth: RegistryAuth = token
    ? { kind: 'bearer', token }
    : username && password
      ? { kind: 'basic', username, password: password() }
      : { kind: 'none' };
  const caFile = env['SCHEMA_REGISTRY_CA_FILE'];
  if (!caFile) return { url, auth };
  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new RegistryConfigError(
      `SCHEMA_REGISTRY_CA_FILE=${caFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----'))
    throw new RegistryConfigError(`SCHEMA_REGISTRY_CA_FILE=${caFile} holds no PEM certificate`);
  return { url, auth, ca, caFile };
}

/** The Authorization header value for a request, if any (a token file is read now). */
export function authorizationHeader(auth: RegistryAuth): string | undefined {
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'basic':
      return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
    case 'bearer':
      return `Bearer ${auth.token()}`;
  }
}

/** An undici dispatcher trusting the CA, for fetch; undefined to use Node's CAs. */
export function fetchDispatcher(access: RegistryAccess): Agent | undefined {
  return access.ca === undefined ? undefined : new Agent({ connect: { ca: access.ca } });
}

/** An https agent trusting the CA, for `@kafkajs/confluent-schema-registry`; undefined to use Node's CAs. */
export function httpsAgent(access: RegistryAccess): HttpsAgent | undefined {
  return access.ca === undefined ? undefined : new HttpsAgent({ ca: access.ca });
}

/** One line for logs: URL, auth method and user, CA file; never a secret. */
export function describeAccess(access: RegistryAccess): string {
  const auth =
    access.auth.kind === 'basic'
      ? `basic as ${access.auth.username}`
      : access.auth.kind === 'bearer'
        ? 'bearer token'
        : 'no credentials';
  return `${access.url} (${auth}${access.caFile ? `, CA ${access.caFile}` : ''})`;
}
