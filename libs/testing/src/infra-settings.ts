import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

// Plain TypeScript without path aliases: tools/scripts/provision-infra.ts runs it with Node's type
// stripping. Tests use test-infra.ts, which adds the clients' security settings parsed.

const run = promisify(execFile);

/** Connection settings for the real servers a test talks to, as the environment names them. */
export interface InfraSettings {
  /** Where the servers came from: environment variables, Docker (testcontainers) or the native local stack. */
  source: 'env' | 'docker' | 'native';
  kafka: { brokers: string[] };
  /** Confluent-compatible schema registry base URL. */
  schemaRegistry: { url: string };
  /** Kafka Connect REST base URL. */
  connect: { url: string };
  postgres: {
    /** Superuser, for creating throwaway databases, slots and publications in tests. */
    adminUrl: string;
    /** cqrs_command on cqrs_write (DML only). */
    writeUrl: string;
    /** cqrs_projector on cqrs_read (DML only). */
    readUrl: string;
    /** cqrs_query on cqrs_read (SELECT only). */
    queryUrl: string;
    /** cqrs_owner on cqrs_write: runs migrations. */
    ownerWriteUrl: string;
    /** cqrs_owner on cqrs_read: runs migrations. */
    ownerReadUrl: string;
    /** cqrs_relay on cqrs_write: logical replication. */
    relayUrl: string;
    /** cqrs_projector on cqrs_write: reads the event store (`events`, `events_archive`) for rebuilds and reconciliation. */
    eventStoreUrl: string;
  };
  /** The OIDC issuer whose access tokens the apps accept (locally the development issuer, tools/dev-issuer). */
  oidc: {
    /** Issuer identifier: the tokens' `iss`; discovery at `<issuerUrl>/.well-known/openid-configuration`. */
    issuerUrl: string;
    /** The audience the apps are (the tokens' `aud`). */
    audience: string;
  };
  /**
   * The clients' TLS and credential variables of this infrastructure that are set
   * ({@link SECURITY_VARIABLES}: Kafka security protocol, CA files, SASL and registry identity,
   * `CQRS_STACK_SECRETS`); empty for a PLAINTEXT stack without authentication.
   */
  securityEnv: Record<string, string>;
}

/**
 * The variables of the clients' transport security and identity (the apps read the same), passed
 * on to child processes: the tests and tools run as the stack's admin identity.
 */
export const SECURITY_VARIABLES = [
  'KAFKA_SECURITY_PROTOCOL',
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SSL_CERT_FILE',
  'KAFKA_SSL_KEY_FILE',
  'KAFKA_SSL_KEY_PASSWORD',
  'KAFKA_SSL_KEY_PASSWORD_FILE',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'KAFKA_SASL_PASSWORD_FILE',
  'KAFKA_SASL_OAUTHBEARER_TOKEN_URL',
  'KAFKA_SASL_OAUTHBEARER_CLIENT_ID',
  'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
  'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE',
  'KAFKA_SASL_OAUTHBEARER_SCOPE',
  'SCHEMA_REGISTRY_CA_FILE',
  'SCHEMA_REGISTRY_USERNAME',
  'SCHEMA_REGISTRY_PASSWORD',
  'SCHEMA_REGISTRY_PASSWORD_FILE',
  'SCHEMA_REGISTRY_TOKEN',
  'SCHEMA_REGISTRY_TOKEN_FILE',
  'CQRS_STACK_SECRETS',
] as const;

/** Every variable {@link resolveInfraSettings} exports, for a shell (tools/scripts/provision-infra.ts). */
export const INFRA_VARIABLES = [
  'KAFKA_BROKERS',
  'SCHEMA_REGISTRY_URL',
  'KAFKA_CONNECT_URL',
  'DATABASE_ADMIN_URL',
  'WRITE_DATABASE_URL',
  'READ_DATABASE_URL',
  'QUERY_DATABASE_URL',
  'MIGRATIONS_WRITE_DATABASE_URL',
  'MIGRATIONS_READ_DATABASE_URL',
  'RELAY_DATABASE_URL',
  'EVENT_STORE_DATABASE_URL',
  'OIDC_ISSUER_URL',
  'OIDC_AUDIENCE',
  ...SECURITY_VARIABLES,
] as const;

/** Environment variable names, shared with the apps and with `.local-stack/env`. */
const ENV = {
  brokers: 'KAFKA_BROKERS',
  registry: 'SCHEMA_REGISTRY_URL',
  connect: 'KAFKA_CONNECT_URL',
  admin: 'DATABASE_ADMIN_URL',
  write: 'WRITE_DATABASE_URL',
  read: 'READ_DATABASE_URL',
  query: 'QUERY_DATABASE_URL',
  ownerWrite: 'MIGRATIONS_WRITE_DATABASE_URL',
  ownerRead: 'MIGRATIONS_READ_DATABASE_URL',
  relay: 'RELAY_DATABASE_URL',
  eventStore: 'EVENT_STORE_DATABASE_URL',
  issuer: 'OIDC_ISSUER_URL',
  audience: 'OIDC_AUDIENCE',
} as const;

/** The monorepo root (the folder holding nx.json), found from this file upwards. */
export function repoRoot(from = typeof __dirname === 'string' ? __dirname : process.cwd()): string {
  let dir = from;
  while (!existsSync(join(dir, 'nx.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no nx.json above ${from}`);
    dir = parent;
  }
  return dir;
}

let pending: Promise<InfraSettings> | undefined;

/**
 * The infrastructure's settings, provisioning the servers if needed (tests call `getTestInfra`). In order:
 * 1. environment variables (`KAFKA_BROKERS`, `SCHEMA_REGISTRY_URL`, `DATABASE_ADMIN_URL`, ... — a
 *    team's shared cluster or CI services);
 * 2. Docker, when an engine answers: docker-compose.yml brought up through testcontainers;
 * 3. the native stack in tools/local-stack, started if it is not running.
 * Memoised per process; the result is also exported to `process.env` so child processes
 * (apps started by e2e tests, CLIs) see the same servers.
 */
export function resolveInfraSettings(): Promise<InfraSettings> {
  pending ??= resolveInfra();
  return pending;
}

async function resolveInfra(): Promise<InfraSettings> {
  const fromEnv = readEnv(process.env);
  // `npm test` provisions once and exports the settings with where they came from, so a test
  // that must restart a server (fault tests) still knows it is the native stack or Docker.
  const provisioned = process.env['CQRS_INFRA_SOURCE'];
  const source = provisioned === 'native' || provisioned === 'docker' ? provisioned : 'env';
  if (fromEnv) return exportToEnv({ ...fromEnv, source });
  const root = repoRoot();
  if (process.env['CQRS_INFRA'] !== 'native' && (await dockerEngineAvailable())) {
    return exportToEnv({ ...(await startCompose(root)), source: 'docker' });
  }
  return exportToEnv({ ...(await startNative(root)), source: 'native' });
}

function readEnv(env: NodeJS.ProcessEnv): Omit<InfraSettings, 'source'> | undefined {
  const admin = env[ENV.admin];
  const brokers = env[ENV.brokers];
  const registry = env[ENV.registry];
  if (!brokers || !registry || !admin) return undefined;
  // Role URLs default to the local stack's role names on the admin URL's host and port.
  const role = (user: string, db: string) => {
    const url = new URL(admin); // keeps the query (sslmode, sslrootcert)
    url.username = user;
    url.password = 'cqrs';
    url.pathname = `/${db}`;
    return url.toString();
  };
  return {
    kafka: { brokers: brokers.split(',').map((b) => b.trim()) },
    schemaRegistry: { url: registry },
    connect: { url: env[ENV.connect] ?? 'http://127.0.0.1:8083' },
    postgres: {
      adminUrl: admin,
      writeUrl: env[ENV.write] ?? role('cqrs_command', 'cqrs_write'),
      readUrl: env[ENV.read] ?? role('cqrs_projector', 'cqrs_read'),
      queryUrl: env[ENV.query] ?? role('cqrs_query', 'cqrs_read'),
      ownerWriteUrl: env[ENV.ownerWrite] ?? role('cqrs_owner', 'cqrs_write'),
      ownerReadUrl: env[ENV.ownerRead] ?? role('cqrs_owner', 'cqrs_read'),
      relayUrl: env[ENV.relay] ?? role('cqrs_relay', 'cqrs_write'),
      eventStoreUrl: env[ENV.eventStore] ?? role('cqrs_projector', 'cqrs_write'),
    },
    // The development issuer's defaults, as in tools/local-stack/defaults.env.
    oidc: { issuerUrl: env[ENV.issuer] ?? 'http://127.0.0.1:8090', audience: env[ENV.audience] ?? 'cqrs-api' },
    securityEnv: Object.fromEntries(SECURITY_VARIABLES.flatMap((name) => (env[name] ? [[name, env[name]]] : []))),
  };
}

function exportToEnv(infra: InfraSettings): InfraSettings {
  process.env['CQRS_INFRA_SOURCE'] = infra.source;
  process.env[ENV.brokers] = infra.kafka.brokers.join(',');
  process.env[ENV.registry] = infra.schemaRegistry.url;
  process.env[ENV.connect] = infra.connect.url;
  process.env[ENV.admin] = infra.postgres.adminUrl;
  process.env[ENV.write] = infra.postgres.writeUrl;
  process.env[ENV.read] = infra.postgres.readUrl;
  process.env[ENV.query] = infra.postgres.queryUrl;
  process.env[ENV.ownerWrite] = infra.postgres.ownerWriteUrl;
  process.env[ENV.ownerRead] = infra.postgres.ownerReadUrl;
  process.env[ENV.relay] = infra.postgres.relayUrl;
  process.env[ENV.eventStore] = infra.postgres.eventStoreUrl;
  process.env[ENV.issuer] = infra.oidc.issuerUrl;
  process.env[ENV.audience] = infra.oidc.audience;
  // Child processes (apps, CLIs) inherit the tests' identity unless a test gives them their own.
  for (const [name, value] of Object.entries(infra.securityEnv)) process.env[name] = value;
  return infra;
}

async function dockerEngineAvailable(): Promise<boolean> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5000 });
    return true;
  } catch {
    return false; // no client, or a client without an engine (our own machines)
  }
}

async function startCompose(root: string): Promise<Omit<InfraSettings, 'source'>> {
  // The environment must outlive this process (npm test provisions once, in a short-lived
  // process, for every tier after it), so testcontainers' reaper must not remove it when this
  // process ends; tools/scripts/test.sh takes it down at the end instead.
  process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
  // Loaded lazily: testcontainers is only needed where an engine exists.
  const { DockerComposeEnvironment, Wait } = await import('testcontainers');
  await new DockerComposeEnvironment(root, 'docker-compose.yml')
    .withProjectName('cqrs-test')
    .withWaitStrategy('postgres-1', Wait.forHealthCheck())
    .withWaitStrategy('kafka-1', Wait.forHealthCheck())
    .withWaitStrategy('schema-registry-1', Wait.forHealthCheck())
    .withWaitStrategy('connect-1', Wait.forHealthCheck())
    .withWaitStrategy('dev-issuer-1', Wait.forHealthCheck())
    .up(['postgres', 'kafka', 'schema-registry', 'connect', 'dev-issuer']);
  // docker-compose.yml publishes the same host ports as the native stack.
  const settings = readEnv(parseEnvFile(join(root, 'tools/local-stack/defaults.env')));
  if (!settings) throw new Error('tools/local-stack/defaults.env is incomplete');
  return settings;
}

async function startNative(root: string): Promise<Omit<InfraSettings, 'source'>> {
  try {
    await run('bash', [join(root, 'tools/local-stack/stack.sh'), 'up'], {
      cwd: root,
      timeout: 15 * 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`native local stack failed to start: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
  const settings = readEnv(parseEnvFile(join(root, '.local-stack/env')));
  if (!settings) throw new Error('.local-stack/env is missing settings after stack.sh up');
  return settings;
}

/**
 * The variables of an env file such as `.local-stack/env` (`NAME=value` lines; one pair of
 * surrounding quotes is stripped, as `source` would).
 */
export function parseEnvFile(path: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) env[match[1]] = (match[2] ?? '').trim().replace(/^'(.*)'$|^"(.*)"$/, '$1$2');
  }
  return env;
}

/**
 * Registers every schema of schemas/ in the registry with the real CLI (`npm run schemas:register`),
 * as `npm start` and a deployment do; idempotent, so every test file may call it.
 */
export async function registerSchemas(registryUrl: string): Promise<void> {
  const root = repoRoot();
  try {
    await run(process.execPath, [join(root, 'tools/schemas/src/cli/register.mts')], {
      cwd: root,
      env: { ...process.env, SCHEMA_REGISTRY_URL: registryUrl },
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`schemas:register failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}
