import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { createIssuer, type Issuer } from '@cqrs/dev-issuer';
// The system's one Kafka client factory (its TLS and SASL settings); a util project's spec may not
// otherwise use the messaging lib.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createKafka } from '@cqrs/messaging';
import { kafkaSecurityFromEnv } from '@cqrs/config';
import { APPS, AppName, appConfig } from './lib/app-config';
import { ComposeFile, environmentOf, loadCompose } from './lib/compose';
import { environment, execForm, healthcheckCommand, instruction, loadDockerfile, stage } from './lib/dockerfile';
import { must } from './lib/must';
import { repoRoot } from './lib/repo';
import { grantAppAcls, parseEnvFile } from '@cqrs/testing';

// There is no Docker engine here, so this runs what the app image runs, the way it runs it: the
// /app layout built by the Dockerfile's own script (tools/deploy/image/app-layout.sh) from the
// built app, the Dockerfile's CMD and HEALTHCHECK in its WORKDIR with its ENV, the environment
// docker-compose.yml gives the service (addresses mapped to the test infrastructure), as the
// image's non-root user on a read-only copy. Only tini (the ENTRYPOINT) and the kernel-level
// read-only mount are not reproduced. command-service and query-service run as compose runs them
// in production (CQRS_NODE_ENV=production, a real issuer's OIDC_* variables), against an issuer
// this test starts, which does not call itself a development issuer.

const dockerfile = loadDockerfile();
const appStage = stage(dockerfile);
const [imageUser = 0, imageGroup] = instruction(dockerfile, appStage, 'USER').split(':').map(Number);
const workdirOf = (s: ReturnType<typeof stage>) => instruction(dockerfile, s, 'WORKDIR');
const compose = loadCompose();
const layout = join(repoRoot(), 'tools/deploy/image/app-layout.sh');
const execFileAsync = promisify(execFile);

/** Production dependencies whose install scripts the image skips (--ignore-scripts), and why that's safe. */
const SKIPPED_INSTALL_SCRIPTS: Record<string, string> = {
  '@scarf/scarf': 'usage analytics ping (swagger-ui-dist)',
  protobufjs: 'postinstall only checks the optional pbjs CLI dependencies',
};

/** The test infrastructure: exported by `npm test` (tools/scripts/provision-infra.ts) or the native stack's env file. */
function infrastructure(): Record<string, string> {
  const fromFile = (): Record<string, string> => {
    const file = join(repoRoot(), '.local-stack/env');
    return existsSync(file) ? (parseEnvFile(file) as Record<string, string>) : {};
  };
  const env = process.env['KAFKA_BROKERS'] ? (process.env as Record<string, string>) : fromFile();
  if (!env['KAFKA_BROKERS']) throw new Error('no test infrastructure: run `npm test`, or `npm run stack:up` first');
  return env;
}

/** The API apps: their API on PORT, health, metrics and docs on MANAGEMENT_PORT, bearer tokens required. */
const API_APPS: readonly AppName[] = ['command-service', 'query-service'];

/**
 * docker-compose.yml's environment for a service (as `docker compose` reads it with `vars`), with
 * the compose network's addresses replaced by the infrastructure's, and the `dev-issuer`
 * service's by `issuer`.
 */
function composeEnvOnInfra(
  serviceName: string,
  infra: Record<string, string>,
  from: ComposeFile = compose,
  issuer?: Issuer,
): Record<string, string> {
  const databaseUrls = Object.entries(infra)
    .filter(([k]) => k.endsWith('DATABASE_URL'))
    .map(([, v]) => new URL(v));
  const addresses: Record<string, string> = {
    'kafka:29092': infra['KAFKA_BROKERS'],
    'https://schema-registry:8443/apis/ccompat/v7': infra['SCHEMA_REGISTRY_URL'],
  };
  const devIssuer = environmentOf(compose.services['command-service']);
  if (issuer) {
    addresses[devIssuer['OIDC_ISSUER_URL']] = issuer.url;
    addresses[devIssuer['OIDC_JWKS_URL']] = `${issuer.url}/jwks`;
  }
  const mapped = Object.entries(environmentOf(from.services[serviceName])).map(([name, value]) => {
    if (value.startsWith('postgres://')) {
      // The same role on the same database, with the infrastructure's host and password.
      const wanted = new URL(value);
      const match = databaseUrls.find((u) => u.username === wanted.username && u.pathname === wanted.pathname);
      if (!match)
        throw new Error(
          `${serviceName}.${name}: the infrastructure has no URL for ${wanted.username}@${wanted.pathname}`,
        );
      return [name, match.href];
    }
    if (value.startsWith(MOUNTS)) return [name, mounted(value, infra)];
    return [name, addresses[value] ?? value];
  });
  const env = Object.fromEntries(mapped) as Record<string, string>;
  const left = Object.entries(env).filter(([, v]) =>
    /\b(postgres|kafka|schema-registry|connect|dev-issuer):\d+/.test(v.replace(/^postgres:\/\//, '')),
  );
  if (left.length)
    throw new Error(`${serviceName}: compose addresses this test can't map: ${left.map(([k]) => k).join(', ')}`);
  return env;
}

/** Where docker-compose.yml mounts the stack's CA (`tls/`) and the apps' secrets (`secrets/`). */
const MOUNTS = '/etc/cqrs/';
let mountDir: string | undefined;

/**
 * The file a container would see at `containerPath` (under {@link MOUNTS}): the infrastructure's
 * CA or secret, copied into a folder of this test owned by the image's user and readable only by
 * it, as a mounted secret is (the stack's own files are root's, 0600).
 */
function mounted(containerPath: string, infra: Record<string, string>): string {
  const [kind, name] = containerPath.slice(MOUNTS.length).split('/');
  const caFile = infra['KAFKA_SSL_CA_FILE'] ?? infra['SCHEMA_REGISTRY_CA_FILE'];
  const sourceDir =
    kind === 'tls' ? caFile && dirname(caFile) : kind === 'secrets' ? infra['CQRS_STACK_SECRETS'] : undefined;
  if (!sourceDir || !name)
    throw new Error(
      `${containerPath}: the infrastructure has no ${kind} folder (KAFKA_SSL_CA_FILE, CQRS_STACK_SECRETS)`,
    );
  mountDir ??= mkdtempSync(join(tmpdir(), 'cqrs-image-mounts-'));
  const target = join(mountDir, kind, name);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(join(sourceDir, name), target);
  chmodSync(target, 0o400);
  if (process.getuid?.() === 0) {
    for (const path of [mountDir, dirname(target), target]) chownSync(path, imageUser, imageGroup ?? imageUser);
  }
  return target;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Runs as the image's user when this test runs as root (so permissions bite as in the image). */
const asImageUser = () => (process.getuid?.() === 0 ? { uid: imageUser, gid: imageGroup ?? imageUser } : {});

/** Every file under a directory with its size and mtime: to prove nothing was written. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const s = statSync(path);
        out.push(`${relative(dir, path)} ${s.size} ${s.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * docker-compose.yml starts the apps only after its one-shot `migrations` service completed; here
 * the same job (the migrations image's entrypoint, database step) runs once on the test
 * infrastructure with that service's environment, before the first app starts. Migrations are
 * idempotent, so a database some earlier run migrated is no different from a fresh one.
 */
let migrated: Promise<unknown> | undefined;
function migrateAsComposeDoes(infra: Record<string, string>): Promise<unknown> {
  migrated ??= execFileAsync('sh', [join(repoRoot(), 'tools/deploy/image/migrations.sh'), 'database'], {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? tmpdir(),
      ...composeEnvOnInfra('migrations', infra),
    },
    timeout: 120_000,
  }).catch((err: Error & { stdout?: string; stderr?: string }) => {
    throw new Error(`the migrations job failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  });
  return migrated;
}

/**
 * The projector consumes the shared event topic into the shared read database; here it gets a
 * topic and consumer group of its own instead (as `docker run -e ...` would), created for the
 * test and deleted after it. Returns the overrides and the cleanup.
 */
async function isolate(
  app: AppName,
  infra: Record<string, string>,
): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> {
  if (app !== 'projector') return { env: {}, cleanup: async () => undefined };
  const variables = (await appConfig(app)).variables;
  for (const name of [
    'PROJECTOR_TOPICS',
    'PROJECTOR_GROUP_PREFIX',
    'PROJECTOR_STREAM_TOPIC_PREFIX',
    'PROJECTOR_STREAM_GROUP_PREFIX',
  ]) {
    if (!variables.includes(name))
      throw new Error(`the projector no longer reads ${name}: update this test's isolation`);
  }
  const id = randomUUID().slice(0, 8);
  const topic = `deploy-e2e.${id}.events`;
  const admin = createKafka({
    clientId: 'deploy-e2e',
    brokers: infra['KAFKA_BROKERS'].split(','),
    security: kafkaSecurityFromEnv(infra),
  }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  // The image runs as the projector's own identity (compose's environment): it gets that identity's ACLs on this topic and group.
  // (prefixes: the other contexts' stream projections name their topics and groups under them)
  const revoke = await grantAppAcls(admin, 'projector', { topic: `deploy-e2e.${id}.`, group: `deploy-e2e-${id}` });
  return {
    env: {
      PROJECTOR_TOPICS: topic,
      PROJECTOR_GROUP_PREFIX: `deploy-e2e-${id}`,
      PROJECTOR_STREAM_TOPIC_PREFIX: `deploy-e2e.${id}.`,
      PROJECTOR_STREAM_GROUP_PREFIX: `deploy-e2e-${id}-`,
    },
    cleanup: async () => {
      await revoke();
      const existing = await admin.listTopics();
      await admin.deleteTopics({ topics: existing.filter((t) => t.startsWith(`deploy-e2e.${id}.`)) });
      await admin.disconnect();
    },
  };
}

/** `node` in an image command is the image's Node 24; here, the Node 24 running this test. */
const resolveCommand = (argv: string[]): [string, string[]] => [
  argv[0] === 'node' ? process.execPath : argv[0],
  argv.slice(1),
];

/**
 * Each app's /app as its image holds it, made read-only (for the image's user too: we run as it).
 * All four are laid out at once when the file loads: `npm install` dominates this test's time.
 */
const layouts = Object.fromEntries(
  APPS.map((app) => {
    const made = (async () => {
      const dist = join(repoRoot(), 'dist/apps', app);
      if (!existsSync(join(dist, 'main.js'))) throw new Error(`${dist}/main.js is missing: nx run ${app}:build`);
      const root = mkdtempSync(join(tmpdir(), `cqrs-image-${app}-`));
      chmodSync(root, 0o755);
      const dir = join(root, workdirOf(appStage).replace(/^\//, ''));
      await execFileAsync('sh', [layout, 'files', dist, dir]);
      await execFileAsync('sh', [layout, 'deps', dir, join(repoRoot(), 'package-lock.json')], { timeout: 280_000 });
      await execFileAsync('chmod', ['-R', 'a-w', dir]);
      return { root, dir };
    })();
    made.catch(() => undefined); // reported by the describe that awaits it
    return [app, made];
  }),
) as Record<AppName, Promise<{ root: string; dir: string }>>;

afterAll(async () => {
  for (const made of await Promise.allSettled(Object.values(layouts))) {
    if (made.status !== 'fulfilled') continue;
    execFileSync('chmod', ['-R', 'u+w', made.value.root]);
    rmSync(made.value.root, { recursive: true, force: true });
  }
  if (mountDir) rmSync(mountDir, { recursive: true, force: true });
}, 60_000);

/** The image's environment for an app: its ENV, then compose's environment on the test infrastructure, then `overrides`. */
async function imageEnv(
  app: AppName,
  infra: Record<string, string>,
  from: ComposeFile,
  issuer: Issuer | undefined,
  overrides: Record<string, string>,
): Promise<Record<string, string>> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    ...environment(dockerfile, appStage, from.services[app]?.build?.args ?? {}),
    ...composeEnvOnInfra(app, infra, from, issuer),
    // As `docker run -e PORT=... -e MANAGEMENT_PORT=...`: free ports instead of the image's, which may be taken here.
    PORT: String(await freePort()),
    ...(API_APPS.includes(app) ? { MANAGEMENT_PORT: String(await freePort()) } : {}),
    ...overrides,
  };
}

/** Starts the image's CMD in `dir` with `env`, as the image's user; collects what it writes. */
function startImage(dir: string, env: Record<string, string>) {
  const [command, args] = resolveCommand(execForm(instruction(dockerfile, appStage, 'CMD'), 'CMD'));
  const child = spawn(command, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], ...asImageUser() });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => stdout + stderr, stderr: () => stderr };
}

describe.each(APPS)('the %s image, run as its Dockerfile runs it', (app) => {
  const api = API_APPS.includes(app);
  let dir = '';
  let env: Record<string, string> = {};
  let running: ReturnType<typeof startImage> | undefined;
  let before: string[] = [];
  let issuer: Issuer | undefined;
  let cleanup: () => Promise<void> = async () => undefined;
  const output = () => running?.output() ?? '';
  /** Where health and metrics answer: the management port, else the app's one port (as healthcheck.mjs decides). */
  const managementUrl = () => `http://127.0.0.1:${env['MANAGEMENT_PORT'] || env['PORT']}`;

  const run = (argv: string[]) => {
    const [command, args] = resolveCommand(argv);
    return spawnSync(command, args, { cwd: dir, env, encoding: 'utf8', timeout: 10_000, ...asImageUser() });
  };

  beforeAll(async () => {
    ({ dir } = await layouts[app]);
    before = snapshot(dir);

    const infra = infrastructure();
    await migrateAsComposeDoes(infra);
    const isolation = await isolate(app, infra);
    cleanup = isolation.cleanup;
    let composed = compose;
    // The apps that take tokens (the APIs, and the projector for its admin API) get an issuer.
    if ('OIDC_ISSUER_URL' in environmentOf(compose.services[app])) {
      // A production identity provider, as far as the app can tell: no development marker.
      issuer = await createIssuer({ development: false });
      composed = loadCompose({
        CQRS_NODE_ENV: 'production',
        OIDC_ISSUER_URL: issuer.url,
        OIDC_JWKS_URL: `${issuer.url}/jwks`,
      });
    }
    env = await imageEnv(app, infra, composed, issuer, {
      ...isolation.env,
      // The OpenTelemetry SDK on (compose leaves it off until a collector runs), exporting nowhere:
      // instrumentation.js must load from the image's own node_modules, as a non-root user.
      OTEL_SDK_DISABLED: 'false',
      OTEL_TRACES_EXPORTER: 'none',
      LOG_LEVEL: 'warn',
    });
    running = startImage(dir, env);
  }, 300_000);

  afterAll(async () => {
    const child = running?.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await running?.exited;
    }
    await cleanup();
    await issuer?.close();
  });

  it('holds every module its bundle requires, production dependencies only, none needing an install script', () => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const bundles = readdirSync(dir).filter((f) => f.endsWith('.js'));
    const required = new Set<string>();
    for (const bundle of bundles) {
      for (const m of readFileSync(join(dir, bundle), 'utf8').matchAll(
        /require\(\s*["']([^"'.][^"']*)["']\s*\)|import\(\s*["']([^"'.][^"']*)["']\s*\)/g,
      )) {
        const spec = m[1] ?? m[2] ?? '';
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        required.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
    expect(required.size).toBeGreaterThan(0);
    expect([...required].filter((name) => !(name in pkg.dependencies))).toEqual([]);
    expect([...required].filter((name) => !existsSync(join(dir, 'node_modules', name, 'package.json')))).toEqual([]);
    for (const dev of ['typescript', 'jest', 'nx', 'webpack', '@swc/core', 'testcontainers']) {
      expect([dev, existsSync(join(dir, 'node_modules', dev))]).toEqual([dev, false]);
    }
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean; dev?: boolean }>;
    };
    const scripted = Object.entries(lock.packages)
      .filter(([path, p]) => path && p.hasInstallScript && !p.dev && existsSync(join(dir, path)))
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    expect(scripted.filter((name) => !(name in SKIPPED_INSTALL_SCRIPTS))).toEqual([]);
  });

  it(`starts from its CMD as a non-root user on a read-only copy, and becomes ready on its ${api ? 'management port' : 'port'}`, async () => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const exitCode = must(running, `the ${app} process`).child.exitCode;
      if (exitCode !== null) throw new Error(`${app} exited with ${exitCode}:\n${output()}`);
      const ready = await fetch(`${managementUrl()}/health/ready`, {
        headers: { connection: 'close' },
        signal: AbortSignal.timeout(2000),
      }).catch(() => undefined);
      if (ready?.ok) break;
      if (Date.now() > deadline)
        throw new Error(`${app} not ready in 90 s (last: ${ready?.status ?? 'no answer'}):\n${output()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(readFileSync(join(dir, 'instrumentation.js'), 'utf8').length).toBeGreaterThan(0);
    if (api) expect(env['NODE_ENV']).toBe('production');
  }, 120_000);

  if (api) {
    // Past authentication on each API, changing nothing: the query side's own stats, and a create
    // command with an empty body (refused by validation, after the token was accepted).
    const call =
      app === 'query-service'
        ? { method: 'GET', path: '/me/stats', status: 200 }
        : { method: 'POST', path: '/tasks', body: '{}', status: 400 };
    const request = (base: string, path: string, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, {
        method: path === call.path ? call.method : 'GET',
        headers: { connection: 'close', 'content-type': 'application/json', ...headers },
        body: path === call.path ? call.body : undefined,
        signal: AbortSignal.timeout(5000),
      });

    it('serves its API on PORT only, to callers with a token from the configured issuer', async () => {
      const apiUrl = `http://127.0.0.1:${env['PORT']}`;
      const anonymous = await request(apiUrl, call.path);
      expect([anonymous.status, anonymous.headers.get('www-authenticate')]).toEqual([
        401,
        expect.stringMatching(/^Bearer /),
      ]);
      const { access_token } = await must(issuer, 'the issuer').issue({
        sub: `deploy-e2e-${randomUUID().slice(0, 8)}`,
        aud: env['OIDC_AUDIENCE'],
      });
      const authorised = await request(apiUrl, call.path, { authorization: `Bearer ${access_token}` });
      expect([authorised.status, authorised.status === call.status ? '' : await authorised.text()]).toEqual([
        call.status,
        '',
      ]);
      // Each port answers only its own routes.
      expect((await request(apiUrl, '/health/ready')).status).toBe(404);
      expect((await request(apiUrl, '/metrics')).status).toBe(404);
      expect((await request(managementUrl(), call.path, { authorization: `Bearer ${access_token}` })).status).toBe(404);
      expect((await request(managementUrl(), '/metrics')).status).toBe(200);
    });
  }

  it("passes the image's HEALTHCHECK and compose's readiness check", () => {
    const image = run(healthcheckCommand(dockerfile, appStage));
    expect([image.status, image.stderr]).toEqual([0, '']);
    const composeCheck = must(compose.services[app]?.healthcheck, `a healthcheck for ${app} in docker-compose.yml`)
      .test as string[];
    const ready = run(composeCheck.slice(1));
    expect([ready.status, ready.stderr]).toEqual([0, '']);
  });

  it('wrote nothing to its own files', () => {
    expect(snapshot(dir)).toEqual(before);
  });

  it('stops on SIGTERM within the grace period, and its HEALTHCHECK then fails', async () => {
    const { child, exited } = must(running, `the ${app} process`);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const { code, signal } = await exited;
    clearTimeout(timer);
    expect([code, signal]).toEqual(code === 0 ? [0, null] : [null, 'SIGTERM']);
    expect(run(healthcheckCommand(dockerfile, appStage)).status).toBe(1);
  }, 30_000);
});

describe('the command-service image in production with the development issuer', () => {
  let issuer: Issuer | undefined;
  let running: ReturnType<typeof startImage> | undefined;

  afterAll(async () => {
    const child = running?.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await running?.exited;
    }
    await issuer?.close();
  });

  it('refuses to start: exit status 2, saying why on stderr', async () => {
    const { dir } = await layouts['command-service'];
    const infra = infrastructure();
    await migrateAsComposeDoes(infra);
    // `CQRS_NODE_ENV=production docker compose up` and nothing else: the apps would trust the
    // compose file's `dev-issuer`, here an in-process issuer that says it is one.
    issuer = await createIssuer({ development: true });
    const env = await imageEnv('command-service', infra, loadCompose({ CQRS_NODE_ENV: 'production' }), issuer, {
      LOG_LEVEL: 'warn',
      OTEL_SDK_DISABLED: 'true',
    });
    expect([env['NODE_ENV'], env['OIDC_ISSUER_URL']]).toEqual(['production', issuer.url]);
    running = startImage(dir, env);
    const timer = setTimeout(() => running?.child.kill('SIGKILL'), 60_000);
    const { code } = await running.exited;
    clearTimeout(timer);
    expect([code, running.stderr()]).toEqual([2, expect.stringContaining('refusing to start')]);
    expect(running.stderr()).toContain(issuer.url);
  }, 120_000);
});

describe('the migrations image, run as docker compose runs it', () => {
  it('migrates both databases and registers the schemas, as its non-root user, idempotently', () => {
    const migrations = stage(dockerfile, 'migrations');
    const home = mkdtempSync(join(tmpdir(), 'cqrs-migrations-home-'));
    chmodSync(home, 0o777);
    try {
      const env = {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        ...environment(dockerfile, migrations),
        ...composeEnvOnInfra('migrations', infrastructure()),
        // The image's HOME and npm cache are /tmp; a private directory here.
        HOME: home,
        NPM_CONFIG_CACHE: join(home, '.npm'),
      };
      const entrypoint = execForm(instruction(dockerfile, migrations, 'ENTRYPOINT'), 'ENTRYPOINT');
      const cmd = execForm(instruction(dockerfile, migrations, 'CMD'), 'CMD');
      const user = instruction(dockerfile, migrations, 'USER').split(':').map(Number);
      const asUser = process.getuid?.() === 0 ? { uid: user[0], gid: user[1] ?? user[0] } : {};
      for (const attempt of [1, 2]) {
        const result = spawnSync(entrypoint[0], [...entrypoint.slice(1), ...cmd], {
          cwd: repoRoot(), // WORKDIR /workspace: the repository
          env,
          encoding: 'utf8',
          timeout: 180_000,
          ...asUser,
        });
        const log = `${result.stdout}\n${result.stderr}`;
        expect([attempt, result.status, result.status === 0 ? '' : log]).toEqual([attempt, 0, '']);
        for (const step of ['db:migrate', 'db:migrate:read', 'schemas:register'])
          expect(log).toContain(`==> npm run ${step}\n`);
      }
      expect(workdirOf(migrations)).toBe('/workspace');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 400_000);
});
