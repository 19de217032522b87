import type { ConnectionOptions } from 'node:tls';
import { envValue, pemFileFromEnv, secretFromEnv, type ConfigIssue, type EnvSource } from './env-secrets';
import { ConfigError } from './load-config';

// Here rather than in @cqrs/messaging (whose createKafka uses it) so that tests' infrastructure
// (@cqrs/testing) can parse the same settings without depending on the messaging lib. The types
// are kafkajs' own, written out (they match its SASLOptions), so this lib needs no kafkajs.

/** What kafkajs' OAUTHBEARER mechanism asks its provider for. */
export interface OauthbearerProviderResponse {
  value: string;
}

/** kafkajs' SASL options for the mechanisms the system supports. */
export type SASLOptions =
  | { mechanism: 'plain'; username: string; password: string }
  | { mechanism: 'scram-sha-256'; username: string; password: string }
  | { mechanism: 'scram-sha-512'; username: string; password: string }
  | { mechanism: 'oauthbearer'; oauthBearerProvider: () => Promise<OauthbearerProviderResponse> };

/** How a client talks to the brokers (Kafka's `security.protocol`). */
export type KafkaSecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

/** The transport security of a Kafka client: spread into kafkajs' config (`createKafka` does). */
export interface KafkaSecurity {
  protocol: KafkaSecurityProtocol;
  /** TLS: `true` trusts Node's CAs; an object carries a CA bundle and/or a client certificate. */
  ssl?: ConnectionOptions | true;
  sasl?: SASLOptions;
}

/** No TLS, no authentication: the local default. */
export const PLAINTEXT: KafkaSecurity = Object.freeze({ protocol: 'PLAINTEXT' });

const PROTOCOLS: readonly KafkaSecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];
const MECHANISMS = {
  PLAIN: 'plain',
  'SCRAM-SHA-256': 'scram-sha-256',
  'SCRAM-SHA-512': 'scram-sha-512',
  OAUTHBEARER: 'oauthbearer',
} as const;
type MechanismName = keyof typeof MECHANISMS;

const TLS_VARIABLES = [
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SSL_CERT_FILE',
  'KAFKA_SSL_KEY_FILE',
  'KAFKA_SSL_KEY_PASSWORD',
  'KAFKA_SSL_KEY_PASSWORD_FILE',
];
const PASSWORD_VARIABLES = ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_PASSWORD_FILE'];
const OAUTH_VARIABLES = [
  'KAFKA_SASL_OAUTHBEARER_TOKEN_URL',
  'KAFKA_SASL_OAUTHBEARER_CLIENT_ID',
  'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
  'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE',
  'KAFKA_SASL_OAUTHBEARER_SCOPE',
];

/** Seams for tests of the OAUTHBEARER token provider. */
export interface KafkaSecurityDeps {
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * The Kafka client security an environment describes (the variables below; all optional, the
 * default is PLAINTEXT without authentication):
 * - `KAFKA_SECURITY_PROTOCOL`: PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL;
 * - TLS (SSL, SASL_SSL): `KAFKA_SSL_CA_FILE` (PEM bundle to trust; else Node's CAs), a client
 *   certificate with `KAFKA_SSL_CERT_FILE`, `KAFKA_SSL_KEY_FILE` and `KAFKA_SSL_KEY_PASSWORD`;
 * - SASL (SASL_*): `KAFKA_SASL_MECHANISM` PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 with
 *   `KAFKA_SASL_USERNAME` and `KAFKA_SASL_PASSWORD`, or OAUTHBEARER with a client-credentials
 *   grant: `KAFKA_SASL_OAUTHBEARER_TOKEN_URL`, `_CLIENT_ID`, `_CLIENT_SECRET`, optional `_SCOPE`.
 * Every secret may be given as a file instead (`X_FILE`). Files are read here, once.
 * Inconsistent settings throw a {@link ConfigError} listing each problem by variable name
 * (never a secret's value): apps report it and exit at start-up.
 */
export function kafkaSecurityFromEnv(env: EnvSource = process.env, deps: KafkaSecurityDeps = {}): KafkaSecurity {
  const issues: ConfigIssue[] = [];
  const security = readSecurity(env, issues, deps);
  if (issues.length > 0) throw new ConfigError('kafka', issues);
  return security;
}

function readSecurity(env: EnvSource, issues: ConfigIssue[], deps: KafkaSecurityDeps): KafkaSecurity {
  const rawProtocol = envValue(env, 'KAFKA_SECURITY_PROTOCOL')?.toUpperCase() ?? 'PLAINTEXT';
  if (!PROTOCOLS.includes(rawProtocol as KafkaSecurityProtocol)) {
    issues.push({ variable: 'KAFKA_SECURITY_PROTOCOL', message: `must be one of ${PROTOCOLS.join(', ')}` });
    return PLAINTEXT;
  }
  const protocol = rawProtocol as KafkaSecurityProtocol;
  const tls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const sasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
  const result: KafkaSecurity = { protocol };
  if (tls) {
    result.ssl = readTls(env, issues);
  } else {
    misplaced(
      env,
      issues,
      TLS_VARIABLES,
      `TLS settings need KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL (it is ${protocol})`,
    );
  }
  const mechanism = envValue(env, 'KAFKA_SASL_MECHANISM');
  if (!sasl) {
    misplaced(
      env,
      issues,
      ['KAFKA_SASL_MECHANISM', ...PASSWORD_VARIABLES, ...OAUTH_VARIABLES],
      `SASL settings need KAFKA_SECURITY_PROTOCOL=SASL_SSL or SASL_PLAINTEXT (it is ${protocol})`,
    );
    return result;
  }
  if (mechanism === undefined) {
    issues.push({
      variable: 'KAFKA_SASL_MECHANISM',
      message: `is required with KAFKA_SECURITY_PROTOCOL=${protocol}: ${Object.keys(MECHANISMS).join(', ')}`,
    });
    return result;
  }
  const name = mechanism.toUpperCase() as MechanismName;
  if (!(name in MECHANISMS)) {
    issues.push({ variable: 'KAFKA_SASL_MECHANISM', message: `must be one of ${Object.keys(MECHANISMS).join(', ')}` });
    return result;
  }
  if (name === 'OAUTHBEARER') {
    misplaced(
      env,
      issues,
      PASSWORD_VARIABLES,
      'is not used with KAFKA_SASL_MECHANISM=OAUTHBEARER (it authenticates with the OAUTHBEARER client credentials)',
    );
    const provider = readOauth(env, issues, deps);
    if (provider) result.sasl = { mechanism: 'oauthbearer', oauthBearerProvider: provider };
    return result;
  }
  misplaced(env, issues, OAUTH_VARIABLES, `is only used with KAFKA_SASL_MECHANISM=OAUTHBEARER (it is ${name})`);
  const username = envValue(env, 'KAFKA_SASL_USERNAME');
  const password = secretFromEnv(env, 'KAFKA_SASL_PASSWORD', issues);
  if (username === undefined)
    issues.push({ variable: 'KAFKA_SASL_USERNAME', message: `is required with KAFKA_SASL_MECHANISM=${name}` });
  if (password === undefined && !issues.some((i) => i.variable.startsWith('KAFKA_SASL_PASSWORD'))) {
    issues.push({
      variable: 'KAFKA_SASL_PASSWORD',
      message: `(or KAFKA_SASL_PASSWORD_FILE) is required with KAFKA_SASL_MECHANISM=${name}`,
    });
  }
  if (username !== undefined && password !== undefined)
    result.sasl = { mechanism: MECHANISMS[name], username, password } as SASLOptions;
  return result;
}

function readTls(env: EnvSource, issues: ConfigIssue[]): ConnectionOptions | true {
  const ca = pemFileFromEnv(env, 'KAFKA_SSL_CA_FILE', issues, 'CERTIFICATE');
  const cert = pemFileFromEnv(env, 'KAFKA_SSL_CERT_FILE', issues, 'CERTIFICATE');
  const key = pemFileFromEnv(env, 'KAFKA_SSL_KEY_FILE', issues, 'PRIVATE KEY');
  const passphrase = secretFromEnv(env, 'KAFKA_SSL_KEY_PASSWORD', issues);
  const certSet = envValue(env, 'KAFKA_SSL_CERT_FILE') !== undefined;
  const keySet = envValue(env, 'KAFKA_SSL_KEY_FILE') !== undefined;
  if (certSet && !keySet)
    issues.push({
      variable: 'KAFKA_SSL_KEY_FILE',
      message: 'is required with KAFKA_SSL_CERT_FILE (a client certificate needs its key)',
    });
  if (keySet && !certSet)
    issues.push({
      variable: 'KAFKA_SSL_CERT_FILE',
      message: 'is required with KAFKA_SSL_KEY_FILE (a client key needs its certificate)',
    });
  if (passphrase !== undefined && !keySet)
    issues.push({ variable: 'KAFKA_SSL_KEY_PASSWORD', message: 'is only used with KAFKA_SSL_KEY_FILE' });
  if (ca === undefined && cert === undefined) return true;
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(passphrase !== undefined ? { passphrase } : {}),
  };
}

function readOauth(
  env: EnvSource,
  issues: ConfigIssue[],
  deps: KafkaSecurityDeps,
): (() => Promise<OauthbearerProviderResponse>) | undefined {
  const tokenUrl = envValue(env, 'KAFKA_SASL_OAUTHBEARER_TOKEN_URL');
  const clientId = envValue(env, 'KAFKA_SASL_OAUTHBEARER_CLIENT_ID');
  const clientSecret = secretFromEnv(env, 'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET', issues);
  const scope = envValue(env, 'KAFKA_SASL_OAUTHBEARER_SCOPE');
  const required = 'is required with KAFKA_SASL_MECHANISM=OAUTHBEARER';
  if (tokenUrl === undefined)
    issues.push({
      variable: 'KAFKA_SASL_OAUTHBEARER_TOKEN_URL',
      message: `${required} (the token endpoint of the client-credentials grant)`,
    });
  else if (!/^https?:\/\/[^/]/.test(tokenUrl) || !URL.canParse(tokenUrl))
    issues.push({ variable: 'KAFKA_SASL_OAUTHBEARER_TOKEN_URL', message: 'must be an http(s) URL' });
  if (clientId === undefined) issues.push({ variable: 'KAFKA_SASL_OAUTHBEARER_CLIENT_ID', message: required });
  if (
    clientSecret === undefined &&
    !issues.some((i) => i.variable.startsWith('KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET'))
  ) {
    issues.push({
      variable: 'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
      message: `(or KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE) ${required}`,
    });
  }
  if (tokenUrl === undefined || clientId === undefined || clientSecret === undefined) return undefined;
  return clientCredentialsTokenProvider({ tokenUrl, clientId, clientSecret, scope, ...deps });
}

/** Each set variable of `names` is an issue: a setting that would silently do nothing. */
function misplaced(env: EnvSource, issues: ConfigIssue[], names: string[], message: string): void {
  for (const name of names)
    if (envValue(env, name) !== undefined)
      issues.push({ variable: name, message: message.startsWith('is ') ? message : `is set, but ${message}` });
}

/** Settings of {@link clientCredentialsTokenProvider}. */
export interface ClientCredentialsOptions extends KafkaSecurityDeps {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
}

/**
 * A kafkajs `oauthBearerProvider`: an OAuth 2.0 client-credentials grant (RFC 6749 §4.4, client
 * authenticated with HTTP Basic) against `tokenUrl`, the access token cached until shortly before
 * it expires (a fifth of its lifetime, at most a minute, early). Concurrent connections share one
 * request. A failure names the endpoint and its OAuth error code, never the secret.
 */
export function clientCredentialsTokenProvider(
  options: ClientCredentialsOptions,
): () => Promise<OauthbearerProviderResponse> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  let cached: { value: string; refreshAt: number } | undefined;
  let pending: Promise<{ value: string; refreshAt: number }> | undefined;
  const request = async () => {
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (options.scope) body.set('scope', options.scope);
    const basic = Buffer.from(
      `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
    ).toString('base64');
    const requestedAt = now();
    let response: Response;
    try {
      response = await doFetch(options.tokenUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: body.toString(),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new Error(`OAUTHBEARER token endpoint ${options.tokenUrl} unreachable: ${(error as Error).message}`);
    }
    const text = await response.text();
    let json: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      // not JSON: reported below
    }
    if (!response.ok || typeof json.access_token !== 'string' || json.access_token === '') {
      const oauthError =
        typeof json.error === 'string'
          ? `: ${json.error}${typeof json.error_description === 'string' ? ` (${json.error_description})` : ''}`
          : '';
      throw new Error(
        `OAUTHBEARER token endpoint ${options.tokenUrl} answered ${response.status} without an access token${oauthError}`,
      );
    }
    const lifetimeMs = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in * 1000 : 0;
    // Without expires_in the lifetime is unknown: every authentication asks for a fresh token.
    const refreshAt = lifetimeMs > 0 ? requestedAt + lifetimeMs - Math.min(60_000, lifetimeMs / 5) : requestedAt;
    return { value: json.access_token, refreshAt };
  };
  return async () => {
    if (cached && now() < cached.refreshAt) return { value: cached.value };
    pending ??= request().finally(() => (pending = undefined));
    cached = await pending;
    return { value: cached.value };
  };
}
