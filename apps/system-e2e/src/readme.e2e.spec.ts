import { createKafka } from '@cqrs/messaging';
import {
  createThrowawayDatabase,
  freePort,
  getTestInfra,
  grantAppAcls,
  repoRoot,
  type ThrowawayDatabase,
} from '@cqrs/testing';
import type { Admin } from 'kafkajs';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The README's own commands, as a newcomer runs them: `npm start` (here on other ports, against
// the provisioned infrastructure, on databases, a slot, a topic and a group of this run), the
// "short session" block exactly as the README has it with every documented answer checked,
// `npm stop` (nothing left running), `npm start` again, and an app killed with SIGKILL brought
// back by the next `npm start`.

const APPS = ['command-service', 'query-service', 'projector', 'outbox-relay'] as const;
type App = (typeof APPS)[number];
const PORT_VARIABLES: Record<App, string> = {
  'command-service': 'COMMAND_SERVICE_PORT',
  'query-service': 'QUERY_SERVICE_PORT',
  projector: 'PROJECTOR_PORT',
  'outbox-relay': 'OUTBOX_RELAY_PORT',
};
/** The apps with an API serve health, metrics and docs on a port of their own. */
const API_APPS = ['command-service', 'query-service'] as const;
type ApiApp = (typeof API_APPS)[number];
const MANAGEMENT_PORT_VARIABLES: Record<ApiApp, string> = {
  'command-service': 'COMMAND_SERVICE_MANAGEMENT_PORT',
  'query-service': 'QUERY_SERVICE_MANAGEMENT_PORT',
};
const isApiApp = (app: App): app is ApiApp => (API_APPS as readonly App[]).includes(app);

interface Run {
  code: number | null;
  output: string;
  ms: number;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 240_000): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

/** The README's "A short session" block: its commands (continuations joined) and documented answers. */
function shortSession(readme: string): { command: string; answer: string | null }[] {
  const section = readme.slice(readme.indexOf('### A short session'));
  const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README: no bash block under "### A short session"');
  const commands: { command: string; answer: string | null }[] = [];
  let pending = '';
  for (const line of block.split('\n')) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = pending + line;
    pending = '';
    const comment = / {2,}# (\{.*)$/.exec(full);
    commands.push({ command: comment ? full.slice(0, comment.index).trimEnd() : full, answer: comment?.[1] ?? null });
  }
  return commands;
}

/** A documented answer as a pattern: `…` stands for anything, the rest is literal. */
function answerPattern(answer: string): RegExp {
  const literal = answer.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${literal.join('.*')}$`, 's');
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of processes that run one of this checkout's apps with one of `ports` in their environment. */
function appProcessesOn(ports: number[]): number[] {
  const wanted = new Set(ports.map((port) => `PORT=${port}`));
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        if (!readlinkSync(`/proc/${pid}/cwd`).startsWith(join(repoRoot(), 'dist/apps/'))) return false;
        return readFileSync(`/proc/${pid}/environ`, 'utf8')
          .split('\0')
          .some((entry) => wanted.has(entry));
      } catch {
        return false; // gone, or not ours to read
      }
    })
    .map(Number);
}

describe('the README commands', () => {
  const runId = randomUUID().slice(0, 8);
  const state = mkdtempSync(join(tmpdir(), 'cqrs-readme-'));
  const databases: ThrowawayDatabase[] = [];
  const ports = {} as Record<App, number>;
  const managementPorts = {} as Record<ApiApp, number>;
  let env: NodeJS.ProcessEnv;
  let admin: Admin | undefined;
  const revokes: (() => Promise<void>)[] = [];
  /** Where an app answers /health/ready: its management port, or its one port (projector, relay). */
  const healthPort = (app: App) => (isApiApp(app) ? managementPorts[app] : ports[app]);
  const allPorts = () => [...Object.values(ports), ...Object.values(managementPorts)];

  const pidOf = (app: App) => Number(readFileSync(join(state, 'run', `${app}.pid`), 'utf8').trim());
  const npm = (...args: string[]) => run('npm', args, env);

  beforeAll(async () => {
    const infra = await getTestInfra();
    const [write, read] = await Promise.all([
      createThrowawayDatabase(infra.postgres.adminUrl, 'readme_write'),
      createThrowawayDatabase(infra.postgres.adminUrl, 'readme_read'),
    ]);
    databases.push(write, read);
    const topic = `e2e.readme${runId}.tasks.task.events`;
    admin = createKafka({ clientId: 'readme-e2e', ...infra.kafka }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    // `npm start` runs the relay and the projector as their own identities (on a secured stack):
    // they get the ACLs of the system's topic on this run's topic and group, as an operator would.
    revokes.push(
      await grantAppAcls(admin, 'outbox-relay', { topic: `e2e.readme${runId}.` }),
      await grantAppAcls(admin, 'projector', { topic: `e2e.readme${runId}.`, group: `readme-projector-${runId}` }),
    );
    for (const app of APPS) ports[app] = await freePort();
    for (const app of API_APPS) managementPorts[app] = await freePort();
    env = {
      ...process.env,
      // infrastructure given by the environment: `npm start` starts no stack of its own
      KAFKA_BROKERS: infra.kafka.brokers.join(','),
      SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
      // this run's databases (superuser URLs: enough for every role's work), slot, topic and group
      WRITE_DATABASE_URL: write.url,
      RELAY_DATABASE_URL: write.url,
      MIGRATIONS_WRITE_DATABASE_URL: write.url,
      READ_DATABASE_URL: read.url,
      QUERY_DATABASE_URL: read.url,
      MIGRATIONS_READ_DATABASE_URL: read.url,
      OUTBOX_SLOT_NAME: `readme_${runId}`,
      OUTBOX_TOPIC_REPLACEMENT: `e2e.readme${runId}.\${aggregatetype}.events`,
      PROJECTOR_TOPICS: topic,
      PROJECTOR_GROUP_PREFIX: `readme-projector-${runId}`,
      PROJECTOR_STREAM_TOPIC_PREFIX: `e2e.readme${runId}.`,
      // under the group prefix the projector's identity is granted above
      PROJECTOR_STREAM_GROUP_PREFIX: `readme-projector-${runId}-`,
      CQRS_STACK_STATE: state,
      OTEL_TRACES_EXPORTER: 'none',
      LOG_LEVEL: 'warn',
      ...Object.fromEntries(APPS.map((app) => [PORT_VARIABLES[app], String(ports[app])])),
      ...Object.fromEntries(API_APPS.map((app) => [MANAGEMENT_PORT_VARIABLES[app], String(managementPorts[app])])),
    };
  });

  afterAll(async () => {
    if (env) await npm('stop');
    for (const revoke of revokes) await revoke();
    await admin?.disconnect();
    const failed = (await Promise.allSettled(databases.map((db) => db.drop()))).flatMap((r) =>
      r.status === 'rejected' ? [r.reason as Error] : [],
    );
    rmSync(state, { recursive: true, force: true });
    if (failed.length)
      throw new AggregateError(failed, `readme e2e cleanup: ${failed.map((e) => e.message).join('; ')}`);
  });

  /** How `npm start` and `apps:status` show an app that is up: its URL and, for an API, its management URL. */
  const upLine = (app: App) =>
    `^${app} +up +http://127\\.0\\.0\\.1:${ports[app]}` +
    (isApiApp(app) ? ` +management http://127\\.0\\.0\\.1:${managementPorts[app]}` : '') +
    ' +\\(pid';

  it('npm start brings the four apps up, saying so without any npm error', async () => {
    const start = await npm('start');
    expect({ code: start.code, output: start.output }).toMatchObject({ code: 0 });
    expect(start.output).not.toContain('npm error');
    for (const app of APPS) expect(start.output).toMatch(new RegExp(upLine(app), 'm'));
  });

  it('answers the short session as the README documents it', async () => {
    const session = shortSession(readFileSync(join(repoRoot(), 'README.md'), 'utf8'));
    expect(session.filter((c) => c.answer).length).toBeGreaterThanOrEqual(8);
    const END = '@@README-COMMAND-END@@';
    const script = [
      'set -euo pipefail',
      ...session.map(
        ({ command }) =>
          command
            .replaceAll('127.0.0.1:3000', `127.0.0.1:${ports['command-service']}`)
            .replaceAll('127.0.0.1:3001', `127.0.0.1:${ports['query-service']}`)
            .replaceAll('127.0.0.1:9000', `127.0.0.1:${managementPorts['command-service']}`)
            .replaceAll('127.0.0.1:9001', `127.0.0.1:${managementPorts['query-service']}`) + `\nprintf '\\n${END}\\n'`,
      ),
    ].join('\n');
    const result = await run('bash', ['-c', script], env, 60_000);
    expect({ code: result.code, output: result.output }).toMatchObject({ code: 0 });
    const outputs = result.output.split(`\n${END}\n`).map((text) => text.trim());
    session.forEach(({ command, answer }, i) => {
      if (answer)
        expect({ command, output: outputs[i] }).toEqual({
          command,
          output: expect.stringMatching(answerPattern(answer)),
        });
    });
  });

  it('npm run apps:status reports every app up, from its pid and its port', async () => {
    const status = await npm('run', '--silent', 'apps:status');
    expect(status.code).toBe(0);
    for (const app of APPS) expect(status.output).toMatch(new RegExp(`${upLine(app)} ${pidOf(app)},`, 'm'));
  });

  it('npm stop stops every app: ports free, no app process left', async () => {
    const pids = APPS.map(pidOf);
    const stop = await npm('stop');
    expect(stop.code).toBe(0);
    for (const app of APPS) expect(stop.output).toMatch(new RegExp(`^${app} stopped \\(pid \\d+`, 'm'));
    expect(pids.filter(alive)).toEqual([]);
    for (const port of allPorts()) expect([port, await portOpen(port)]).toEqual([port, false]);
    expect(appProcessesOn(Object.values(ports))).toEqual([]);
    const status = await npm('run', '--silent', 'apps:status');
    expect(status.code).not.toBe(0);
    for (const app of APPS) expect(status.output).toMatch(new RegExp(`^${app} +down`, 'm'));
  });

  it('npm start works again after npm stop', async () => {
    const start = await npm('start');
    expect({ code: start.code, output: start.output }).toMatchObject({ code: 0 });
    for (const app of APPS)
      expect([app, (await fetch(`http://127.0.0.1:${healthPort(app)}/health/ready`)).status]).toEqual([app, 200]);
  });

  it('brings back an app killed with SIGKILL on the next npm start, within 30 s, leaving the others running', async () => {
    const before = Object.fromEntries(APPS.map((app) => [app, pidOf(app)])) as Record<App, number>;
    process.kill(before.projector, 'SIGKILL');
    while (alive(before.projector)) await new Promise((resolve) => setTimeout(resolve, 50));

    const status = await npm('run', '--silent', 'apps:status');
    expect(status.code).not.toBe(0);
    expect(status.output).toMatch(/^projector +down +\(stale pid file: pid \d+ is not running this app\)/m);

    const start = await npm('start');
    expect({ code: start.code, output: start.output }).toMatchObject({ code: 0 });
    expect(start.ms).toBeLessThan(30_000);
    expect(start.output).toMatch(/^projector: stale pid file removed/m);
    expect(pidOf('projector')).not.toBe(before.projector);
    for (const app of ['command-service', 'query-service', 'outbox-relay'] as const) {
      expect(start.output).toContain(`${app} already running (pid ${before[app]})`);
    }
    expect((await fetch(`http://127.0.0.1:${ports.projector}/health/ready`)).status).toBe(200);
  });

  it.each([
    ['query-service', 'API', () => ports['query-service']],
    ['command-service', 'management', () => managementPorts['command-service']],
  ] as const)(
    'refuses to start, naming the port and its holder, when another process holds the %s %s port, and starts nothing',
    async (app, _, port) => {
      expect((await npm('stop')).code).toBe(0);
      const squatter = createServer();
      await new Promise<void>((resolve) => squatter.listen(port(), '127.0.0.1', resolve));
      try {
        const start = await npm('start');
        expect(start.code).not.toBe(0);
        expect(start.output).toContain(`error: ${app} cannot start: port ${port()} is taken by pid ${process.pid}`);
        for (const other of allPorts().filter((p) => p !== port()))
          expect([other, await portOpen(other)]).toEqual([other, false]);
        expect(appProcessesOn(Object.values(ports))).toEqual([]);
      } finally {
        await new Promise((resolve) => squatter.close(resolve));
      }
    },
  );
});
