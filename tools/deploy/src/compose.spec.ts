import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  APPS,
  AppName,
  appConfig,
  identifierSettings,
  isOwnerCredential,
  isStandardVariable,
  loopbackSettings,
  redact,
} from './lib/app-config';
import { ComposeService, environmentOf, interpolate, loadCompose, parsePort } from './lib/compose';
import { environment, loadDockerfile, stage } from './lib/dockerfile';
import { loadInitSql } from './lib/init-sql';
import { must } from './lib/must';
import { eventTopics, readRepoFile, repoRoot } from './lib/repo';

// No Docker engine runs docker-compose.yml in CI, so this reads it the way `docker compose up`
// would (merge keys, ${VAR:-default} interpolation with an empty environment) and checks it
// against what it starts: the apps' real configuration, the Dockerfile, init.sql and the chart.
const compose = loadCompose();
const services = compose.services;
const dockerfile = loadDockerfile();
const databases = loadInitSql();

const service = (name: string): ComposeService => {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}; it has ${Object.keys(services).join(', ')}`);
  return found;
};

/** The volumes `certs` fills, and where the services mount them. */
const TLS_DIR = '/etc/cqrs/tls';
const SECRETS_DIR = '/etc/cqrs/secrets';
const IDENTITIES = ['cqrs-admin', 'cqrs-command', 'cqrs-query', 'cqrs-projector', 'cqrs-relay', 'cqrs-connect'];

/** The files `certs` writes (its script, read as text), by absolute path. */
const certsScript = (): string => [services['certs']?.command].flat().join('\n');
const madeByCerts = (path: string): boolean => {
  const file = path.split('/').pop() ?? '';
  if (path.startsWith(`${SECRETS_DIR}/`)) {
    const identity = /^(kafka|registry)-(.+)\.password$/.exec(file);
    if (identity) return (environmentOf(service('certs'))['IDENTITIES'] ?? '').split(/\s+/).includes(identity[2]);
    return certsScript().includes(`$S/${file}`);
  }
  // ca.pem, a certificate and key of `issue <name> ...`, or a file the script names.
  const issued = /^(.+)\.(crt|key)$/.exec(file);
  return (
    path.startsWith(`${TLS_DIR}/`) &&
    (file === 'ca.pem' ||
      certsScript().includes(`$T/${file}`) ||
      (issued !== null && new RegExp(`^issue ${issued[1]} `, 'm').test(certsScript())))
  );
};

/** Stand-ins for the files a container reads (the engine's volumes do not exist here). */
const standIns = mkdtempSync(join(tmpdir(), 'cqrs-compose-files-'));
afterAll(() => rmSync(standIns, { recursive: true, force: true }));
const withStandIns = (env: Record<string, string>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(env).map(([k, v]) => [
      k,
      v.replace(/\/etc\/cqrs\/[\w./-]+/g, (path) => {
        const local = join(standIns, path.replace(/\//g, '_'));
        writeFileSync(
          local,
          /\.(pem|crt)$/.test(path)
            ? '-----BEGIN CERTIFICATE-----\nc3RhbmQtaW4=\n-----END CERTIFICATE-----\n'
            : 'stand-in\n',
          { mode: 0o600 },
        );
        return local;
      }),
    ]),
  );

/** Paths under /etc/cqrs an environment names. */
const pathsIn = (env: Record<string, string>): string[] =>
  Object.values(env).flatMap((v) => v.match(/\/etc\/cqrs\/[\w./-]+/g) ?? []);

/** What a container of a compose service gets: the image's ENV, then the service's environment (files as stand-ins). */
const containerEnv = (app: AppName, from: Record<string, ComposeService> = services): Record<string, string> => {
  const s = must(from[app], `a compose service ${app}`);
  return withStandIns({
    ...environment(dockerfile, stage(dockerfile, s.build?.target), s.build?.args ?? {}),
    ...environmentOf(s),
  });
};

/** The apps with an API (and so a management port and bearer-token authentication). */
const API_APPS = ['command-service', 'query-service'] as const;
/** The apps that take bearer tokens: the APIs, and the projector for its admin API (on its one port). */
const ISSUER_APPS = [...API_APPS, 'projector'] as const;

/** host:port pairs an address setting points at. */
const addressesOf = (value: unknown): { host: string; port: number }[] => {
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap((v) => {
    if (typeof v !== 'string') return [];
    if (/^[a-z]+:\/\//.test(v)) {
      const url = new URL(v);
      const port = Number(url.port || { 'http:': 80, 'https:': 443, 'postgres:': 5432 }[url.protocol]);
      return [{ host: url.hostname, port }];
    }
    const m = /^([\w.-]+):(\d+)$/.exec(v);
    return m ? [{ host: m[1], port: Number(m[2]) }] : [];
  });
};

/** The ports a service answers on inside the compose network. */
const networkPorts = (name: string): number[] => {
  const s = service(name);
  const env = environmentOf(s);
  // Kafka answers other containers on the listener it advertises under its own name only.
  const advertised = (env['KAFKA_ADVERTISED_LISTENERS'] ?? '')
    .split(',')
    .map((l) => /^\w+:\/\/([^:]+):(\d+)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null && m[1] === name)
    .map((m) => Number(m[2]));
  if (advertised.length) return advertised;
  return (s.ports ?? []).map((p) => parsePort(p).containerPort);
};

describe("compose's variable interpolation (lib/compose.ts)", () => {
  it.each([
    ['${A:-d}', {}, 'd'],
    ['${A:-d}', { A: '' }, 'd'],
    ['${A:-d}', { A: 'x' }, 'x'],
    ['${A-d}', { A: '' }, ''],
    ['${A-d}', {}, 'd'],
    ['${A:+r}', { A: 'x' }, 'r'],
    ['${A:+r}', { A: '' }, ''],
    ['${A+r}', { A: '' }, 'r'],
    ['${A:-http://h:${B:-8090}/p}', {}, 'http://h:8090/p'],
    ['${A:-http://h:${B:-8090}/p}', { B: '1' }, 'http://h:1/p'],
    ['$A-$$A-${A}', { A: 'x' }, 'x-$A-x'],
    ['$$(echo "$$TOPICS")', {}, '$(echo "$TOPICS")'],
  ] as [string, Record<string, string>, string][])('%s with %j is %j', (text, vars, expected) => {
    expect(interpolate(text, vars)).toBe(expected);
  });

  it('fails on a required variable without a value, and on a malformed expression', () => {
    expect(() => interpolate('${A:?set A}', { A: '' })).toThrow(/A .*set A/);
    expect(interpolate('${A?set A}', { A: '' })).toBe('');
    expect(() => interpolate('${A:-x', {})).toThrow(/invalid interpolation/);
  });
});

describe('docker-compose.yml', () => {
  it('keeps the infrastructure services tests start by name', () => {
    for (const name of ['postgres', 'kafka', 'schema-registry', 'connect']) expect(services[name]).toBeDefined();
  });

  it('runs Postgres with logical WAL and the init.sql the native stack uses', () => {
    const postgres = service('postgres');
    expect((postgres.command as string[]).join(' ')).toContain('wal_level=logical');
    expect(postgres.volumes).toContainEqual(
      expect.stringMatching(
        /^\.\/tools\/local-stack\/postgres\/init\.sql:\/docker-entrypoint-initdb\.d\/[\w-]+\.sql(:ro)?$/,
      ),
    );
  });

  it('runs Kafka in KRaft mode (no ZooKeeper)', () => {
    const env = environmentOf(service('kafka'));
    expect(env['KAFKA_PROCESS_ROLES']).toBe('broker,controller');
    expect(Object.keys(services).some((name) => /zookeeper/i.test(name))).toBe(false);
  });

  describe.each(APPS)('%s', (app) => {
    it('is built from the Dockerfile for this app, as the image the chart deploys by default', () => {
      const s = service(app);
      const build = must(s.build, `a build section for ${app}`);
      expect(build).toMatchObject({ context: '.', args: { APP: app } });
      expect(existsSync(join(repoRoot(), build.dockerfile ?? 'Dockerfile'))).toBe(true);
      // The default target is the app image (the last stage); a target, if named, must exist.
      expect(stage(dockerfile, build.target).name).toBe('app');
      const declared = stage(dockerfile)
        .instructions.filter((i) => i.keyword === 'ARG')
        .map((i) => i.args.split('=')[0]);
      expect(Object.keys(build.args ?? {}).filter((arg) => !declared.includes(arg))).toEqual([]);
      const values = parse(readRepoFile('helm/cqrs/values.yaml')) as Record<string, { image?: { repository: string } }>;
      const chartRepositories = Object.values(values).flatMap((v) =>
        v?.image?.repository ? [v.image.repository] : [],
      );
      expect(chartRepositories).toContain(must(s.image, `an image name for ${app}`).split(':')[0]);
    });

    it("sets only variables the app reads, and they pass the app's own validation", async () => {
      const config = await appConfig(app);
      const env = containerEnv(app);
      const set = Object.keys(environmentOf(service(app)));
      expect(set.filter((name) => !config.variables.includes(name) && !isStandardVariable(name))).toEqual([]);
      // Least privilege: a service never gets the owner role's credentials.
      expect(set.filter(isOwnerCredential)).toEqual([]);
      // Traces name the service, not the image's directory (/app).
      expect(environmentOf(service(app))['OTEL_SERVICE_NAME']).toBe(app);
      const result = config.load(env);
      expect(result.ok ? [] : result.issues).toEqual([]);
    });

    it('overrides every local default: nothing points at 127.0.0.1 inside a container', async () => {
      const config = await appConfig(app);
      const result = config.load(containerEnv(app));
      const loopback = result.ok ? loopbackSettings(result.config) : ['(invalid config)'];
      expect(loopback).toEqual([]);
    });

    it('addresses the compose services on the ports they answer on inside the network, after they are healthy', async () => {
      const config = await appConfig(app);
      const result = config.load(containerEnv(app));
      if (!result.ok) throw new Error(`${app}: invalid config: ${redact(JSON.stringify(result.issues))}`);
      const identifiers = identifierSettings(result.config);
      const targets = Object.entries(result.config)
        .filter(([key]) => !isOwnerCredential(key) && !identifiers.includes(key))
        .flatMap(([, value]) => addressesOf(value));
      expect(targets.length).toBeGreaterThan(0);
      for (const { host, port } of targets) {
        expect([host, services[host] !== undefined]).toEqual([host, true]);
        expect([host, networkPorts(host)]).toEqual([host, expect.arrayContaining([port])]);
        expect([host, service(app).depends_on?.[host]?.condition]).toEqual([host, 'service_healthy']);
      }
    });

    it('connects as its own database role, to its own database, as in the local defaults', async () => {
      const config = await appConfig(app);
      const local = new URL(String(config.defaults()['DATABASE_URL']));
      const result = config.load(containerEnv(app));
      const url = new URL(String(result.ok && result.config['DATABASE_URL']));
      expect([url.username, url.pathname]).toEqual([local.username, local.pathname]);
      const database = url.pathname.slice(1);
      expect(databases.roles).toContain(url.username);
      expect(databases.connect.get(database)).toContain(url.username);
    });

    it('publishes the ports the app listens on, health-checks its management port, and starts after the migrations', async () => {
      const config = await appConfig(app);
      const env = containerEnv(app);
      const result = config.load(env);
      if (!result.ok) throw new Error(`${app}: invalid config: ${redact(JSON.stringify(result.issues))}`);
      const port = result.config['PORT'];
      const management = result.config['MANAGEMENT_PORT'];
      expect(port).toBe(config.defaults()['PORT']);
      expect(management).toBe(config.defaults()['MANAGEMENT_PORT']);
      const published = (service(app).ports ?? []).map((p) => parsePort(p).containerPort);
      expect(published).toEqual(management === undefined ? [port] : [port, management]);
      // The image's health script probes MANAGEMENT_PORT, else PORT: the API apps' build argument
      // must be the port their config listens on, and the others must leave it empty.
      expect(env['MANAGEMENT_PORT'] ?? '').toBe(management === undefined ? '' : String(management));
      expect(service(app).build?.args?.['MANAGEMENT_PORT']).toBe(
        management === undefined ? undefined : String(management),
      );
      expect(service(app).healthcheck?.test).toEqual(['CMD', 'node', 'healthcheck.mjs', '/health/ready']);
      expect(service(app).depends_on?.['migrations']?.condition).toBe('service_completed_successfully');
    });

    it('runs hardened: read-only root filesystem with a /tmp, no capabilities, no privilege escalation', () => {
      const s = service(app);
      expect(s.read_only).toBe(true);
      expect(s.tmpfs).toContain('/tmp');
      expect(s.cap_drop).toEqual(['ALL']);
      expect(s.security_opt).toContain('no-new-privileges:true');
    });
  });

  describe.each(ISSUER_APPS)('%s and its token issuer', (app) => {
    const issuerEnv = (vars: Record<string, string>) => containerEnv(app, loadCompose(vars).services);

    it('trusts the `dev-issuer` service by default: tokens carry the issuer URL the host reaches it at', async () => {
      const env = containerEnv(app);
      const issuer = service('dev-issuer');
      const command = (issuer.command as string[]).join(' ');
      expect(env['NODE_ENV']).toBe('development');
      expect(command).toContain(`--issuer-url ${env['OIDC_ISSUER_URL']}`);
      const hostPort = (issuer.ports ?? []).map(parsePort).find((p) => p.containerPort === 8090)?.hostPort;
      expect(new URL(env['OIDC_ISSUER_URL']).port).toBe(String(hostPort));
      // Keys come over the compose network (the addresses test above checks host, port and health).
      expect(new URL(env['OIDC_JWKS_URL']).hostname).toBe('dev-issuer');
      const result = (await appConfig(app)).load(env);
      expect(result.ok && [result.config['OIDC_AUDIENCE'], result.config['AUTH_ROLES_CLAIM']]).toEqual([
        'cqrs-api',
        'roles',
      ]);
      // Moving the issuer's host port moves the identifier with it.
      expect(issuerEnv({ CQRS_ISSUER_PORT: '18090' })['OIDC_ISSUER_URL']).toBe('http://127.0.0.1:18090');
    });

    it("takes a real issuer's settings, and production, from the environment of `docker compose up`", async () => {
      const real = {
        CQRS_NODE_ENV: 'production',
        OIDC_ISSUER_URL: 'https://login.example.com/realms/cqrs',
        OIDC_JWKS_URL: 'https://login.example.com/realms/cqrs/protocol/openid-connect/certs',
        OIDC_AUDIENCE: 'orders-api',
        AUTH_ROLES_CLAIM: 'realm_access.roles',
        AUTH_ADMIN_ROLE: 'tasks-admin',
      };
      const env = issuerEnv(real);
      const result = (await appConfig(app)).load(env);
      if (!result.ok) throw new Error(`${app}: invalid config: ${JSON.stringify(result.issues)}`);
      expect(result.config).toMatchObject({
        NODE_ENV: 'production',
        OIDC_ISSUER_URL: real.OIDC_ISSUER_URL,
        OIDC_JWKS_URL: real.OIDC_JWKS_URL,
        OIDC_AUDIENCE: real.OIDC_AUDIENCE,
        AUTH_ROLES_CLAIM: real.AUTH_ROLES_CLAIM,
        AUTH_ADMIN_ROLE: real.AUTH_ADMIN_ROLE,
      });
      expect(loopbackSettings(result.config)).toEqual([]);
    });
  });

  it('gives the projector and the relay no management port: their one port serves health and metrics', () => {
    for (const app of APPS.filter((a) => !(API_APPS as readonly string[]).includes(a))) {
      expect([app, containerEnv(app)['MANAGEMENT_PORT']]).toEqual([app, '']);
    }
    // The relay takes no token at all (the projector's admin API does, above).
    expect(Object.keys(environmentOf(service('outbox-relay'))).filter((k) => k.startsWith('OIDC_'))).toEqual([]);
  });

  describe('the one-shot migrations job', () => {
    const migrations = service('migrations');
    const env = environmentOf(migrations);

    it('is the migrations image, run once, after Postgres and the registry are healthy', () => {
      expect(stage(dockerfile, migrations.build?.target).name).toBe('migrations');
      expect(migrations.restart).toBe('no');
      expect(migrations.depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        'schema-registry': { condition: 'service_healthy' },
      });
    });

    it('migrates both databases as their owner role and registers schemas where the apps read them', async () => {
      for (const name of ['MIGRATIONS_WRITE_DATABASE_URL', 'MIGRATIONS_READ_DATABASE_URL']) {
        const url = new URL(env[name]);
        const database = url.pathname.slice(1);
        expect([name, url.username]).toEqual([name, databases.owners.get(database)]);
        expect([name, url.host]).toEqual([name, `postgres:${networkPorts('postgres')[0]}`]);
      }
      const write = new URL(env['MIGRATIONS_WRITE_DATABASE_URL']).pathname;
      const read = new URL(env['MIGRATIONS_READ_DATABASE_URL']).pathname;
      const appDatabases = await Promise.all(
        APPS.map(async (app) => new URL(String((await appConfig(app)).defaults()['DATABASE_URL'])).pathname),
      );
      expect(new Set(appDatabases)).toEqual(new Set([write, read]));
      expect(env['SCHEMA_REGISTRY_URL']).toBe(environmentOf(service('command-service'))['SCHEMA_REGISTRY_URL']);
    });
  });

  describe('the one-shot topics job', () => {
    it("creates the projector's topics with the partition count the relay would give them, before either starts", async () => {
      const topics = service('topics');
      const env = environmentOf(topics);
      const projector = (await appConfig('projector')).load(containerEnv('projector'));
      const relay = (await appConfig('outbox-relay')).load(containerEnv('outbox-relay'));
      if (!projector.ok || !relay.ok) throw new Error('invalid app config; see the tests above');
      // every context's event topics; the tasks projector's among them
      expect(env['TOPICS'].split(',').sort()).toEqual(eventTopics());
      expect(eventTopics()).toEqual(expect.arrayContaining(projector.config['PROJECTOR_TOPICS'] as string[]));
      expect(Number(env['PARTITIONS'])).toBe(relay.config['OUTBOX_TOPIC_PARTITIONS']);
      const script = (topics.command as string[]).join('\n');
      expect(script).toContain('--if-not-exists');
      const bootstrap = must(/--bootstrap-server (\S+)/.exec(script), 'a --bootstrap-server in the topics command')[1];
      expect(`kafka:${networkPorts('kafka')[0]}`).toBe(bootstrap);
      expect(topics.depends_on).toEqual({ kafka: { condition: 'service_healthy' } });
      expect(script).toContain('--command-config /etc/cqrs/secrets/kafka-cqrs-admin.properties');
      for (const app of ['projector', 'outbox-relay']) {
        expect([app, service(app).depends_on?.['topics']?.condition]).toEqual([app, 'service_completed_successfully']);
      }
    });

    it('creates them keeping their history, with the retention the relay, the projector and Debezium would give them', async () => {
      const env = environmentOf(service('topics'));
      const script = (service('topics').command as string[]).join('\n');
      expect(script).toContain(
        '--config "retention.ms=$EVENT_TOPIC_RETENTION_MS" --config retention.bytes=-1 --config cleanup.policy=delete',
      );
      expect(env['EVENT_TOPIC_RETENTION_MS']).toBe('-1');
      for (const app of ['projector', 'outbox-relay'] as const) {
        const loaded = (await appConfig(app)).load(containerEnv(app));
        if (!loaded.ok) throw new Error(`${app}: invalid config; see the tests above`);
        expect([app, String(loaded.config['EVENT_TOPIC_RETENTION_MS'])]).toEqual([
          app,
          env['EVENT_TOPIC_RETENTION_MS'],
        ]);
      }
      expect(environmentOf(service('connect-register'))['EVENT_TOPIC_RETENTION_MS']).toBe(
        env['EVENT_TOPIC_RETENTION_MS'],
      );
      // One setting moves them all.
      const bounded = loadCompose({ EVENT_TOPIC_RETENTION_MS: '2592000000' }).services;
      for (const name of ['topics', 'projector', 'outbox-relay', 'connect-register']) {
        expect([name, environmentOf(must(bounded[name], name))['EVENT_TOPIC_RETENTION_MS']]).toEqual([
          name,
          '2592000000',
        ]);
      }
    });
  });

  it('gives the projector the event store as its own role, read-only, on the write database', async () => {
    const config = await appConfig('projector');
    const result = config.load(containerEnv('projector'));
    if (!result.ok) throw new Error('invalid projector config; see the tests above');
    const local = new URL(String(config.defaults()['EVENT_STORE_DATABASE_URL']));
    const url = new URL(String(result.config['EVENT_STORE_DATABASE_URL']));
    const readSide = new URL(String(result.config['DATABASE_URL']));
    expect([url.username, url.pathname]).toEqual([local.username, local.pathname]);
    expect([url.username, url.pathname]).toEqual([readSide.username, '/cqrs_write']);
    expect(databases.connect.get('cqrs_write')).toContain(url.username);
    const raw = new URL(environmentOf(service('projector'))['EVENT_STORE_DATABASE_URL']);
    expect([raw.searchParams.get('sslmode'), raw.searchParams.get('sslrootcert')]).toEqual([
      'verify-full',
      `${TLS_DIR}/ca.pem`,
    ]);
  });

  describe('transport security and identities', () => {
    const kafkaEnv = environmentOf(service('kafka'));

    it('runs Kafka with SASL_SSL listeners only, an mTLS controller listener, and ACLs that deny by default', () => {
      const map = Object.fromEntries(
        kafkaEnv['KAFKA_LISTENER_SECURITY_PROTOCOL_MAP'].split(',').map((pair) => pair.split(':')),
      );
      const listeners = kafkaEnv['KAFKA_LISTENERS'].split(',').map((l) => must(/^(\w+):\/\//.exec(l), l)[1]);
      expect(Object.fromEntries(listeners.map((l) => [l, map[l]]))).toEqual({
        INTERNAL: 'SASL_SSL',
        CONTROLLER: 'SSL',
        EXTERNAL: 'SASL_SSL',
      });
      expect(Object.values(map)).not.toContain('PLAINTEXT');
      expect(Object.values(map)).not.toContain('SASL_PLAINTEXT');
      expect(kafkaEnv['KAFKA_LISTENER_NAME_CONTROLLER_SSL_CLIENT_AUTH']).toBe('required');
      // The controller's port is not published: only the SASL_SSL listener reaches the host.
      expect((service('kafka').ports ?? []).map((p) => parsePort(p).containerPort)).toEqual([9092]);
      expect(kafkaEnv['KAFKA_AUTHORIZER_CLASS_NAME']).toBe('org.apache.kafka.metadata.authorizer.StandardAuthorizer');
      expect(kafkaEnv['KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND']).toBe('false');
      expect(kafkaEnv['KAFKA_SUPER_USERS'].split(';').sort()).toEqual(['User:cqrs-admin', 'User:cqrs-broker']);
      // No secret in its environment: JAAS passwords come through the FileConfigProvider.
      expect(Object.values(kafkaEnv).filter((v) => /password=/i.test(v))).toEqual([]);
      expect(Object.values(kafkaEnv).filter((v) => v.includes('${file:')).length).toBeGreaterThan(0);
    });

    it("grants the native stack's ACLs: the relay and the projector their topics, Connect its own, the API apps nothing", () => {
      const acls = environmentOf(service('topics'))
        ['ACLS'].trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/));
      // What stack.sh grants for this repository's manifest, as its own functions compute it.
      const spec = execFileSync(
        'bash',
        [
          '-c',
          `REPO_ROOT="$PWD"; eval "$(sed -n '/^event_topics() {/,/^}/p; /^kafka_acl_spec() {/,/^}/p' tools/local-stack/stack.sh)"; kafka_acl_spec`,
        ],
        { cwd: repoRoot(), encoding: 'utf8' },
      );
      const sorted = (lines: string[][]) => lines.map((l) => l.join(' ')).sort();
      expect(sorted(acls)).toEqual(
        sorted(
          spec
            .trim()
            .split('\n')
            .map((l) => l.trim().split(/\s+/)),
        ),
      );
      expect(acls.filter(([user]) => user === 'cqrs-command' || user === 'cqrs-query')).toEqual([]);
      expect(environmentOf(service('topics'))['IDENTITIES'].split(/\s+/)).toEqual(IDENTITIES);
      expect(environmentOf(service('certs'))['IDENTITIES'].split(/\s+/)).toEqual(IDENTITIES);
    });

    it.each(APPS)(
      '%s connects as its own identity, over verified TLS, to Kafka and the registry only if it uses them',
      async (app) => {
        const config = await appConfig(app);
        const env = environmentOf(service(app));
        const identity = {
          'command-service': 'cqrs-command',
          'query-service': 'cqrs-query',
          projector: 'cqrs-projector',
          'outbox-relay': 'cqrs-relay',
        }[app];
        if (config.variables.includes('KAFKA_BROKERS')) {
          expect(env).toMatchObject({
            KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
            KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
            KAFKA_SSL_CA_FILE: `${TLS_DIR}/ca.pem`,
            KAFKA_SASL_USERNAME: identity,
            KAFKA_SASL_PASSWORD_FILE: `${SECRETS_DIR}/kafka-${identity}.password`,
          });
        } else {
          expect([app, Object.keys(env).filter((k) => k.startsWith('KAFKA_'))]).toEqual([app, []]);
        }
        if (config.variables.includes('SCHEMA_REGISTRY_URL')) {
          expect(new URL(env['SCHEMA_REGISTRY_URL']).protocol).toBe('https:');
          expect(env).toMatchObject({
            SCHEMA_REGISTRY_CA_FILE: `${TLS_DIR}/ca.pem`,
            SCHEMA_REGISTRY_USERNAME: identity,
            SCHEMA_REGISTRY_PASSWORD_FILE: `${SECRETS_DIR}/registry-${identity}.password`,
          });
        }
        const url = new URL(env['DATABASE_URL']);
        expect([url.searchParams.get('sslmode'), url.searchParams.get('sslrootcert')]).toEqual([
          'verify-full',
          `${TLS_DIR}/ca.pem`,
        ]);
        // No secret value in its environment: passwords are files of the secrets volume.
        expect(Object.keys(env).filter((k) => /(PASSWORD|SECRET|TOKEN)$/.test(k))).toEqual([]);
      },
    );

    it('mounts, in every service that names a file, the volume `certs` writes it to, and `certs` runs first', () => {
      for (const [name, s] of Object.entries(services)) {
        const env = environmentOf(s);
        const paths = [
          ...pathsIn(env),
          ...(Array.isArray(s.command) ? s.command : []).flatMap(
            (c) => String(c).match(/\/etc\/cqrs\/[\w./-]+(?=[\s'"]|$)/g) ?? [],
          ),
        ].filter((p) => !p.includes('$'));
        if (name === 'certs' || paths.length === 0) continue;
        // connect-register hands its database URL to the Connect worker: the CA path is the worker's.
        const mounts = (name === 'connect-register' ? service('connect') : s).volumes?.map((v) => v.split(':')) ?? [];
        for (const path of new Set(paths)) {
          const dir = path === TLS_DIR || path.startsWith(`${TLS_DIR}/`) ? TLS_DIR : SECRETS_DIR;
          expect([name, path, mounts.some(([, target]) => target === dir)]).toEqual([name, path, true]);
          if (path !== dir) expect([name, path, madeByCerts(path)]).toEqual([name, path, true]);
        }
        // Through its own dependency or one that waits for `certs` (postgres, kafka, dev-issuer do).
        const waits = (n: string, seen = new Set<string>()): boolean =>
          !seen.has(n) &&
          (seen.add(n),
          Object.entries(services[n]?.depends_on ?? {}).some(
            ([dep, { condition }]) =>
              (dep === 'certs' && condition === 'service_completed_successfully') || waits(dep, seen),
          ));
        expect([name, waits(name)]).toEqual([name, true]);
      }
    });

    it('runs Postgres with TLS only, and the registry on HTTPS only behind the issuer', () => {
      const command = (service('postgres').command as string[]).join(' ');
      expect(command).toContain('ssl=on');
      expect(command).toContain(`hba_file=${TLS_DIR}/pg_hba.conf`);
      expect(certsScript()).toContain('hostssl all all all scram-sha-256');
      expect(certsScript()).not.toMatch(/"host all/);
      const registry = environmentOf(service('schema-registry'));
      expect(registry).toMatchObject({
        QUARKUS_HTTP_INSECURE_REQUESTS: 'disabled',
        QUARKUS_OIDC_TENANT_ENABLED: 'true',
        APICURIO_AUTHN_BASIC_CLIENT_CREDENTIALS_ENABLED: 'true',
        APICURIO_AUTH_ROLE_BASED_AUTHORIZATION: 'true',
      });
      // The tokens' issuer is the one the dev issuer names itself with.
      expect((service('dev-issuer').command as string[]).join(' ')).toContain(
        `--issuer-url ${registry['QUARKUS_OIDC_TOKEN_ISSUER']}`,
      );
      expect((service('dev-issuer').command as string[]).join(' ')).toContain(`--secrets ${SECRETS_DIR}`);
    });

    it('runs Kafka Connect with the same security as the apps, for the worker and its clients', () => {
      const env = environmentOf(service('connect'));
      for (const prefix of ['CONNECT_', 'CONNECT_PRODUCER_', 'CONNECT_CONSUMER_', 'CONNECT_ADMIN_']) {
        expect([
          prefix,
          env[`${prefix}SECURITY_PROTOCOL`],
          env[`${prefix}SASL_MECHANISM`],
          env[`${prefix}SSL_TRUSTSTORE_LOCATION`],
        ]).toEqual([prefix, 'SASL_SSL', 'SCRAM-SHA-512', `${TLS_DIR}/ca.pem`]);
        expect(env[`${prefix}SASL_JAAS_CONFIG`]).toBe(
          `\${file:${SECRETS_DIR}/kafka-cqrs-connect.properties:sasl.jaas.config}`,
        );
      }
      const url = new URL(environmentOf(service('connect-register'))['DEBEZIUM_DATABASE_URL']);
      expect(url.searchParams.get('sslmode')).toBe('verify-full');
    });
  });

  describe('the Debezium profile', () => {
    it('holds Kafka Connect and the connector registration, which the default `up` leaves out', () => {
      expect(service('connect').profiles).toEqual(['debezium']);
      expect(service('connect-register').profiles).toEqual(['debezium']);
      const withoutProfile = Object.entries(services).filter(([, s]) => !s.profiles);
      for (const [name, s] of withoutProfile) {
        const needsProfiled = Object.keys(s.depends_on ?? {}).filter((dep) => service(dep).profiles);
        expect([name, needsProfiled]).toEqual([name, []]);
      }
    });

    it("registers connect/'s connector, after Connect is healthy and the migrations made the publication", () => {
      const register = service('connect-register');
      const entrypoint = register.entrypoint as string[];
      expect(entrypoint.slice(0, 2)).toEqual(['node', 'connect/register.mts']);
      expect(existsSync(join(repoRoot(), entrypoint[1]))).toBe(true);
      expect(register.depends_on).toEqual({
        connect: { condition: 'service_healthy' },
        migrations: { condition: 'service_completed_successfully' },
      });
      // Debezium reads the outbox as the relay's replication role, where the relay would.
      const env = environmentOf(register);
      expect(env['DEBEZIUM_DATABASE_URL']).toBe(environmentOf(service('outbox-relay'))['DATABASE_URL']);
      expect(new URL(env['KAFKA_CONNECT_URL']).port).toBe(String(networkPorts('connect')[0]));
    });
  });

  it('orders start-up with health checks: every service_healthy dependency has a health check, no cycles', () => {
    const problems: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        if (!services[dep]) problems.push(`${name} depends on missing ${dep}`);
        else if (condition === 'service_healthy' && !services[dep].healthcheck)
          problems.push(`${name} waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
        else if (condition === 'service_completed_successfully' && services[dep].restart !== 'no')
          problems.push(`${name} waits for ${dep} to complete, but ${dep} restarts`);
      }
    }
    const visiting = new Set<string>();
    const visit = (name: string, path: string[]) => {
      if (path.includes(name)) {
        problems.push(`cycle: ${[...path, name].join(' -> ')}`);
        return;
      }
      if (visiting.has(name)) return;
      visiting.add(name);
      for (const dep of Object.keys(services[name]?.depends_on ?? {})) visit(dep, [...path, name]);
    };
    Object.keys(services).forEach((name) => visit(name, []));
    expect(problems).toEqual([]);
  });

  it('lets `docker compose up --wait` succeed: every one-shot job in the default set is awaited by a long-running service', () => {
    const defaults = Object.entries(services).filter(([, s]) => !s.profiles);
    const oneShots = defaults.filter(([, s]) => s.restart === 'no').map(([name]) => name);
    expect(oneShots.length).toBeGreaterThan(0);
    for (const job of oneShots) {
      const awaitedBy = defaults.filter(
        ([, s]) => s.restart !== 'no' && s.depends_on?.[job]?.condition === 'service_completed_successfully',
      );
      expect([job, awaitedBy.length > 0]).toEqual([job, true]);
    }
  });

  it('holds no secret but the documented local passwords', () => {
    const passwords = Object.values(services).flatMap((s) =>
      Object.values(environmentOf(s)).flatMap((v) => [...v.matchAll(/\/\/[^:/@\s]+:([^@/\s]+)@/g)].map((m) => m[1])),
    );
    expect(passwords.length).toBeGreaterThan(0);
    expect(new Set(passwords)).toEqual(new Set(['cqrs']));
  });
});
