/**
 * Fault drill (`npm run chaos`): the four built apps as processes under a steady HTTP command
 * load, on a stack instance of the drill's own (other ports, other state: a developer's stack and
 * other engineers' tests never notice). Each iteration injects every scenario in turn:
 *
 *   relay-kill       kill -9 the outbox relay, start it again at once
 *   projector-kill   kill -9 the projector, start it again
 *   command-kill     kill -9 the command service, start it again (same port)
 *   kafka-restart    stop and start the broker (stack.sh restart-kafka)
 *   postgres-restart stop and start PostgreSQL (stack.sh stop-service / start-service)
 *   registry-outage  stop the schema registry for --registry-outage seconds, then start it
 *
 * Recovery time of a fault = from the fault until a command acknowledged after it is visible in
 * the read model (a probe create, retried with its Idempotency-Key until acknowledged).
 *
 * Then an oracle compares what clients were told with what the system holds. A command answered
 * 2xx is *acknowledged*: its event (at the version it answered) must be in the event store, on
 * Kafka and applied once in the read model. A command without an answer or with a 5xx is retried
 * with the same Idempotency-Key (what a client should do); one that stays without a definite
 * answer is *unknown* and resolved by reading the event store (with If-Match it can only have
 * landed at the version after the one it was sent for). Checks: nothing acknowledged is lost,
 * nothing is applied twice (no unexplained event in the store; the per-owner statistics, which
 * the projector increments, equal what the store's final states give), versions per task are
 * contiguous, and each task's read-model version equals its last acknowledged (or resolved)
 * version. Duplicates *delivered* on Kafka (the relay is at least once) are counted; the
 * projector's per-stream checkpoint must absorb them.
 *
 * The stack: by default `tools/local-stack/stack.sh up` with CQRS_STACK_STATE (default
 * $TMPDIR/cqrs-chaos-stack) and ports CQRS_PG_PORT 15433, CQRS_KAFKA_PORT 19092,
 * CQRS_KAFKA_CONTROLLER_PORT 19093, CQRS_REGISTRY_PORT 18081, CQRS_CONNECT_PORT 18083 (each
 * overridable by that variable), stopped and purged at the end. `--reuse-stack` uses a stack
 * already running with those settings and leaves it running (the drill still restarts its
 * services, so never point it at a stack others use).
 *
 * Writes bench/results/chaos.json. Exit status 1 when the oracle finds a violation.
 */
import { createKafka } from '@cqrs/messaging';
import { migrateEventStore } from '@cqrs/event-store';
import {
  createThrowawayDatabase,
  parseEnvFile,
  registerSchemas,
  repoRoot,
  SECURITY_VARIABLES,
  startApp,
  freePort,
  type AppProcess,
  type ThrowawayDatabase,
} from '@cqrs/testing';
import { Command, InvalidArgumentError } from 'commander';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { readTopics } from '../apps/outbox-relay/src/testing/kafka-topic-reader';
import { createReadModelTestDatabase, type ReadModelTestDatabase } from '../libs/tasks/read-model/src/testing';

const exec = promisify(execFile);
const SCENARIOS = [
  'relay-kill',
  'projector-kill',
  'command-kill',
  'kafka-restart',
  'postgres-restart',
  'registry-outage',
] as const;
type Scenario = (typeof SCENARIOS)[number];

const int = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return n;
};
const program = new Command('chaos')
  .description(
    'Fault drill: kill and restart the apps and the infrastructure under load, then check every acknowledged command',
  )
  .option('-i, --iterations <n>', 'rounds of all scenarios', int('iterations'), 2)
  .option('-s, --seed <n>', 'seed of the load and the timing jitter', int('seed'), 1)
  .option(
    '--scenarios <list>',
    'comma-separated subset of ' + SCENARIOS.join(','),
    (v) => {
      const list = v.split(',').filter(Boolean);
      const bad = list.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
      if (bad.length) throw new InvalidArgumentError(`unknown scenario(s): ${bad.join(', ')}`);
      return list as Scenario[];
    },
    [...SCENARIOS],
  )
  .option('--rate <n>', 'target commands per second of the steady load', int('rate'), 40)
  .option('--workers <n>', 'concurrent clients, one task at a time each', int('workers'), 4)
  .option('--registry-outage <s>', 'seconds the schema registry stays down', int('registry-outage'), 60)
  .option('--settle <s>', 'seconds of undisturbed load between faults', int('settle'), 4)
  .option('--reuse-stack', 'use the stack already running with the CQRS_* settings; do not start or stop it', false)
  .option('--keep-stack', 'leave the drill stack running at the end', false)
  .option('--out <file>', 'result file', join(repoRoot(), 'bench/results/chaos.json'));

type Options = {
  iterations: number;
  seed: number;
  scenarios: Scenario[];
  rate: number;
  workers: number;
  registryOutage: number;
  settle: number;
  reuseStack: boolean;
  keepStack: boolean;
  out: string;
};

const log = (message: string) => console.log(`[chaos] ${new Date().toISOString().slice(11, 23)} ${message}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded generator, so a seed replays the same load and jitter. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ------------------------------------------------------------------------------------- stack

interface StackEnv {
  brokers: string[];
  registryUrl: string;
  adminUrl: string;
  ownerWriteUrl: string;
  ownerReadUrl: string;
  relayUrl: string;
  projectorUrl: string;
  queryUrl: string;
  /** The drill stack's development token issuer. */
  issuerUrl: string;
  audience: string;
}

/** stack.sh settings of the drill's instance: the caller's CQRS_* variables, else ports of its own. */
function stackSettings(): Record<string, string> {
  const env = process.env;
  return {
    CQRS_STACK_STATE: env['CQRS_STACK_STATE'] ?? join(tmpdir(), 'cqrs-chaos-stack'),
    CQRS_PG_PORT: env['CQRS_PG_PORT'] ?? '15433',
    CQRS_KAFKA_PORT: env['CQRS_KAFKA_PORT'] ?? '19092',
    CQRS_KAFKA_CONTROLLER_PORT: env['CQRS_KAFKA_CONTROLLER_PORT'] ?? '19093',
    CQRS_REGISTRY_PORT: env['CQRS_REGISTRY_PORT'] ?? '18081',
    CQRS_CONNECT_PORT: env['CQRS_CONNECT_PORT'] ?? '18083',
    CQRS_ISSUER_PORT: env['CQRS_ISSUER_PORT'] ?? '18090',
    ...(env['CQRS_PG_BASE'] ? { CQRS_PG_BASE: env['CQRS_PG_BASE'] } : {}),
  };
}

async function stack(...args: string[]): Promise<string> {
  const { stdout } = await exec('bash', [join(repoRoot(), 'tools/local-stack/stack.sh'), ...args], {
    env: { ...process.env, ...stackSettings() },
    timeout: 5 * 60_000,
    maxBuffer: 16 << 20,
  });
  return stdout;
}

function readStackEnv(): StackEnv {
  const file = join(stackSettings()['CQRS_STACK_STATE']!, 'env');
  const env = parseEnvFile(file);
  // The drill's clients (Kafka, registry, the schema CLI and the apps it starts) inherit the
  // stack's TLS settings and admin identity. The apps run as admin too: the drill's topics are
  // its own (chaos.r<run>.*), which the apps' own identities have no ACLs for.
  for (const name of SECURITY_VARIABLES) {
    if (env[name]) process.env[name] = env[name];
    else delete process.env[name];
  }
  const need = (k: string) =>
    env[k] ??
    (() => {
      throw new Error(`${file} lacks ${k}`);
    })();
  return {
    brokers: need('KAFKA_BROKERS').split(','),
    registryUrl: need('SCHEMA_REGISTRY_URL'),
    adminUrl: need('DATABASE_ADMIN_URL'),
    ownerWriteUrl: need('MIGRATIONS_WRITE_DATABASE_URL'),
    ownerReadUrl: need('MIGRATIONS_READ_DATABASE_URL'),
    relayUrl: need('RELAY_DATABASE_URL'),
    projectorUrl: need('READ_DATABASE_URL'),
    queryUrl: need('QUERY_DATABASE_URL'),
    issuerUrl: need('OIDC_ISSUER_URL'),
    audience: need('OIDC_AUDIENCE'),
  };
}

// -------------------------------------------------------------------------------------- apps

type AppName = 'command-service' | 'outbox-relay' | 'projector';

/** The write database (owned by the migration role, so the apps get production privileges). */
async function createWriteDb(env: StackEnv): Promise<{ db: ThrowawayDatabase; ownerUrl: string; relayUrl: string }> {
  const db = await createThrowawayDatabase(env.adminUrl, 'chaos_write');
  const owner = new URL(env.ownerWriteUrl);
  await db.query(`ALTER DATABASE ${db.name} OWNER TO ${owner.username}`);
  const on = (url: string) => Object.assign(new URL(url), { pathname: `/${db.name}` }).toString();
  await migrateEventStore(on(env.ownerWriteUrl));
  return { db, ownerUrl: on(env.ownerWriteUrl), relayUrl: on(env.relayUrl) };
}

/** An app process that exited without being told to; the drill restarts it, as an orchestrator would. */
interface Crash {
  app: AppName;
  at: string;
  exit: number | string | null;
  lastOutput: string[];
}

class System {
  readonly apps = new Map<AppName, AppProcess>();
  readonly crashes: Crash[] = [];
  private readonly ports = new Map<AppName, number>();
  private readonly ending = new Set<AppProcess>();
  private stopping = false;
  constructor(private readonly envOf: Record<AppName, Record<string, string>>) {}

  async start(name: AppName): Promise<AppProcess> {
    const port = this.ports.get(name) ?? (await freePort());
    this.ports.set(name, port);
    const app = await startApp(name, { ...this.envOf[name], PORT: String(port) }, { timeoutMs: 180_000 });
    this.apps.set(name, app);
    app.process.once('exit', (code, signal) => {
      if (this.ending.has(app) || this.stopping) return;
      const lastOutput = app.output().trim().split('\n').slice(-15);
      this.crashes.push({ app: name, at: new Date().toISOString(), exit: code ?? signal, lastOutput });
      log(`${name} exited by itself (${code ?? signal}); restarting it. Last output:\n  ${lastOutput.join('\n  ')}`);
      void this.start(name).catch((error: Error) => log(`${name} did not start again: ${error.message}`));
    });
    return app;
  }

  url(name: AppName): string {
    return `http://127.0.0.1:${this.ports.get(name)}`;
  }

  async kill(name: AppName): Promise<void> {
    const app = this.apps.get(name);
    if (app) this.ending.add(app);
    await app?.kill();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.apps.values()].map((app) => app.stop(15_000)));
  }
}

// -------------------------------------------------------------------------------------- load

type Kind = 'create' | 'update' | 'start' | 'complete' | 'abandon';
const EVENT_OF: Record<Kind, string> = {
  create: 'TaskCreated',
  update: 'TaskUpdated',
  start: 'TaskStarted',
  complete: 'TaskCompleted',
  abandon: 'TaskAbandoned',
};

/** One command as the client saw it, after all its attempts (same Idempotency-Key each time). */
interface CommandRecord {
  kind: Kind;
  /** The task's title, unique per task: identifies a task whose create got no answer. */
  title: string;
  ownerId: string;
  taskId: string | null;
  /** The version sent as If-Match (0 for a create). */
  expected: number;
  outcome: 'acked' | 'rejected' | 'unknown';
  version: number | null;
  status: number | null;
  /** Attempts that got no answer or a 5xx. */
  unknownAttempts: number;
  probe: boolean;
}

class Load {
  readonly records: CommandRecord[] = [];
  private running = true;
  private workers: Promise<void>[] = [];
  private seq = 0;

  /** Each owner's access token, asked once from the drill stack's issuer (it outlives the drill). */
  private readonly tokens = new Map<string, Promise<string>>();

  constructor(
    private readonly commandUrl: () => string,
    private readonly opts: Options,
    private readonly issuer: { url: string; audience: string },
  ) {}

  private tokenOf(owner: string): Promise<string> {
    let token = this.tokens.get(owner);
    if (!token) {
      token = fetch(`${this.issuer.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sub: owner, aud: this.issuer.audience, expiresIn: 86_400 }),
      }).then(async (response) => {
        const body = (await response.json()) as { access_token?: string };
        if (!response.ok || !body.access_token)
          throw new Error(`the drill's issuer refused a token for ${owner}: ${response.status}`);
        return body.access_token;
      });
      this.tokens.set(owner, token);
    }
    return token;
  }

  /** Sends one command, retrying no answer / 5xx with the same key for up to `budgetMs`. */
  async send(
    kind: Kind,
    task: { title: string; ownerId: string; taskId: string | null; version: number },
    probe = false,
    budgetMs = 120_000,
  ): Promise<CommandRecord> {
    const key = `chaos-${this.opts.seed}-${++this.seq}`;
    const record: CommandRecord = {
      kind,
      title: task.title,
      ownerId: task.ownerId,
      taskId: task.taskId,
      expected: kind === 'create' ? 0 : task.version,
      outcome: 'unknown',
      version: null,
      status: null,
      unknownAttempts: 0,
      probe,
    };
    this.records.push(record);
    const [method, path, body] =
      kind === 'create'
        ? ['POST', '/tasks', { title: task.title }]
        : kind === 'update'
          ? ['PATCH', `/tasks/${task.taskId}`, { description: `edited ${key}` }]
          : kind === 'abandon'
            ? ['POST', `/tasks/${task.taskId}/abandon`, { reason: 'drill' }]
            : ['POST', `/tasks/${task.taskId}/${kind}`, undefined];
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'idempotency-key': key,
      authorization: `Bearer ${await this.tokenOf(task.ownerId)}`,
    };
    if (kind !== 'create') headers['if-match'] = `"${task.version}"`;
    const deadline = Date.now() + budgetMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await fetch(this.commandUrl() + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
        const json = (await response.json().catch(() => ({}))) as { taskId?: string; version?: number };
        record.status = response.status;
        if (response.status < 300) {
          record.outcome = 'acked';
          record.version = json.version ?? null;
          record.taskId = json.taskId ?? record.taskId;
          return record;
        }
        if (response.status < 500 && response.status !== 408 && response.status !== 429) {
          record.outcome = 'rejected';
          return record;
        }
      } catch {
        record.status = null; // no answer: refused, reset, timed out
      }
      record.unknownAttempts++;
      if (Date.now() >= deadline) return record;
      await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
    }
  }

  start(): void {
    const { workers, rate, seed } = this.opts;
    const gapMs = (workers * 1000) / rate;
    this.workers = Array.from({ length: workers }, (_, w) => this.worker(w, prng(seed * 1000 + w), gapMs));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  /**
   * Tasks one after another: create, update, start, then complete or abandon (versions 1..4).
   * Half the clients retry a command without a definite answer (same Idempotency-Key), half give
   * up at once, so the oracle must resolve real unknowns from the event store.
   */
  private async worker(w: number, random: () => number, gapMs: number): Promise<void> {
    const budgetMs = w % 2 === 0 ? 120_000 : 0;
    for (let n = 0; this.running; n++) {
      const task = {
        title: `chaos ${this.opts.seed}-${w}-${n}`,
        ownerId: `chaos-owner-${w}`,
        taskId: null as string | null,
        version: 0,
      };
      const steps: Kind[] = ['create', 'update', 'start', random() < 0.7 ? 'complete' : 'abandon'];
      for (const kind of steps) {
        if (!this.running) break;
        const started = Date.now();
        const record = await this.send(kind, task, false, budgetMs);
        if (record.outcome !== 'acked' || record.version === null) {
          // An unresolved task is left alone; the next one waits, as a client would after an error.
          await sleep(Math.max(500, gapMs));
          break;
        }
        task.taskId = record.taskId;
        task.version = record.version;
        await sleep(Math.max(0, gapMs * (0.5 + random()) - (Date.now() - started)));
      }
    }
  }
}

// ---------------------------------------------------------------------------------- recovery

/**
 * From `faultAt` on, creates probe tasks until one is acknowledged, then waits until the read
 * model shows it: the time from the fault to that moment is the recovery time.
 */
async function measureRecovery(
  load: Load,
  readUrl: string,
  faultAt: number,
  label: string,
  timeoutMs = 240_000,
): Promise<number | null> {
  const deadline = faultAt + timeoutMs;
  let n = 0;
  let reader: Client | undefined;
  try {
    while (Date.now() < deadline) {
      const probe = await load.send(
        'create',
        { title: `probe ${label} ${n++}`, ownerId: 'chaos-probe', taskId: null, version: 0 },
        true,
        Math.max(1000, deadline - Date.now()),
      );
      if (probe.outcome !== 'acked' || !probe.taskId) continue;
      while (Date.now() < deadline) {
        try {
          if (!reader) {
            reader = new Client({ connectionString: readUrl, connectionTimeoutMillis: 2000 });
            reader.on('error', () => undefined);
            await reader.connect();
          }
          const { rows } = await reader.query('SELECT 1 FROM task_view WHERE task_id = $1', [probe.taskId]);
          if (rows.length) return Date.now() - faultAt;
        } catch {
          await reader?.end().catch(() => undefined); // Postgres restarting: connect again
          reader = undefined;
        }
        await sleep(50);
      }
    }
    return null;
  } finally {
    await reader?.end().catch(() => undefined);
  }
}

// ------------------------------------------------------------------------------------ oracle

interface StoreEvent {
  stream_id: string;
  version: string;
  type: string;
  title: string | null;
  owner_id: string | null;
}

async function oracle(load: Load, writeUrl: string, readUrl: string, brokers: string[], topic: string) {
  const store = await withPg(writeUrl, (c) =>
    c.query<StoreEvent>(
      `SELECT stream_id, version::text, type, data->>'title' AS title, data->>'ownerId' AS owner_id FROM events ORDER BY stream_id, version`,
    ),
  );
  const [views, checkpoints, stats, parked] = await withPg(
    readUrl,
    async (c) =>
      [
        await c.query<{ task_id: string; version: string; status: string; owner_id: string }>(
          'SELECT task_id, version::text, status, owner_id FROM task_view',
        ),
        await c.query<{ stream_id: string; version: string }>(
          'SELECT stream_id, version::text FROM stream_checkpoints',
        ),
        await c.query<{
          owner_id: string;
          open_count: string;
          started_count: string;
          completed_count: string;
          abandoned_count: string;
        }>('SELECT * FROM user_task_stats'),
        await c.query<{ n: string }>('SELECT count(*)::text AS n FROM parked_events'),
      ] as const,
  );

  // The store, per stream: events by version, and the stream of each created title.
  const streams = new Map<string, StoreEvent[]>();
  const streamOfTitle = new Map<string, string>();
  for (const e of store.rows) {
    streams.set(e.stream_id, [...(streams.get(e.stream_id) ?? []), e]);
    if (e.type === 'TaskCreated' && e.title) streamOfTitle.set(e.title, e.stream_id);
  }
  let versionGaps = 0;
  for (const events of streams.values())
    events.forEach((e, i) => (Number(e.version) !== i + 1 ? versionGaps++ : undefined));

  // Every event must be explained by exactly one command: acknowledged, or unknown and resolved.
  const explained = new Map<string, number>(); // `${stream}@${version}` -> commands claiming it
  const claim = (stream: string, version: number) =>
    explained.set(`${stream}@${version}`, (explained.get(`${stream}@${version}`) ?? 0) + 1);
  let lostInStore = 0;
  const unknown = { total: 0, applied: 0, notApplied: 0 };
  let rejected = 0;
  for (const r of load.records) {
    const stream = r.taskId ?? streamOfTitle.get(r.title) ?? null;
    if (r.outcome === 'rejected') {
      rejected++;
      continue;
    }
    const at = r.outcome === 'acked' ? r.version : r.expected + 1;
    const event = stream && at ? streams.get(stream)?.[at - 1] : undefined;
    const matches =
      event !== undefined && event.type === EVENT_OF[r.kind] && (r.kind !== 'create' || event.title === r.title);
    if (r.outcome === 'acked') {
      if (matches) claim(stream!, at!);
      else lostInStore++;
    } else {
      unknown.total++;
      if (matches) {
        unknown.applied++;
        claim(stream!, at!);
      } else unknown.notApplied++;
    }
  }
  let unexplainedEvents = 0;
  let doubleClaims = 0;
  for (const [stream, events] of streams) {
    for (const e of events) {
      const n = explained.get(`${stream}@${e.version}`) ?? 0;
      if (n === 0) unexplainedEvents++;
      if (n > 1) doubleClaims += n - 1;
    }
  }

  // The read model against the store (which now includes resolved unknowns).
  const viewOf = new Map(views.rows.map((v) => [v.task_id, v]));
  const checkpointOf = new Map(checkpoints.rows.map((c) => [c.stream_id, Number(c.version)]));
  const STATUS: Record<string, string | undefined> = {
    TaskCreated: 'open',
    TaskStarted: 'started',
    TaskCompleted: 'completed',
    TaskAbandoned: 'abandoned',
  };
  const expectedStats = new Map<string, Record<string, number>>();
  let readBehind = 0;
  let readAhead = 0;
  let statusMismatches = 0;
  let checkpointMismatches = 0;
  for (const [stream, events] of streams) {
    const last = events.length;
    const status =
      [...events]
        .reverse()
        .map((e) => STATUS[e.type])
        .find(Boolean) ?? 'open';
    const owner = events[0]?.owner_id ?? '?';
    const counts = expectedStats.get(owner) ?? { open: 0, started: 0, completed: 0, abandoned: 0 };
    counts[status] = (counts[status] ?? 0) + 1;
    expectedStats.set(owner, counts);
    const view = viewOf.get(stream);
    const seen = view ? Number(view.version) : 0;
    if (seen < last) readBehind++;
    if (seen > last) readAhead++;
    if (view && view.status !== status) statusMismatches++;
    if ((checkpointOf.get(stream) ?? 0) !== seen) checkpointMismatches++;
  }
  // The statistics are increments: an event applied twice would count a task twice.
  let statsMismatches = 0;
  const statsOf = new Map(stats.rows.map((s) => [s.owner_id, s]));
  for (const [owner, counts] of expectedStats) {
    const s = statsOf.get(owner);
    const got = {
      open: Number(s?.open_count ?? 0),
      started: Number(s?.started_count ?? 0),
      completed: Number(s?.completed_count ?? 0),
      abandoned: Number(s?.abandoned_count ?? 0),
    };
    for (const k of ['open', 'started', 'completed', 'abandoned'] as const)
      statsMismatches += Math.abs(got[k] - (counts[k] ?? 0));
  }
  // Acknowledged commands whose version the read model does not reach: lost on the way.
  let lostInReadModel = 0;
  for (const r of load.records) {
    if (r.outcome !== 'acked' || !r.taskId || r.version === null) continue;
    if (Number(viewOf.get(r.taskId)?.version ?? 0) < r.version) lostInReadModel++;
  }

  // Kafka: every stored event once at least; extra copies are the relay's at-least-once.
  const records = await readTopics(brokers, [topic], store.rows.length, { timeoutMs: 60_000, settleMs: 2000 });
  const copies = new Map<string, number>();
  for (const rec of records) {
    const k = `${rec.key}@${rec.headers['aggregateVersion']}`;
    copies.set(k, (copies.get(k) ?? 0) + 1);
  }
  let missingOnKafka = 0;
  for (const e of store.rows) if (!copies.has(`${e.stream_id}@${e.version}`)) missingOnKafka++;
  const duplicatesDelivered = [...copies.values()].reduce((sum, n) => sum + n - 1, 0);

  const acked = load.records.filter((r) => r.outcome === 'acked').length;
  return {
    commands: {
      sent: load.records.length,
      acknowledged: acked,
      rejected,
      probes: load.records.filter((r) => r.probe).length,
      attemptsWithoutAnswerOr5xx: load.records.reduce((s, r) => s + r.unknownAttempts, 0),
      unknown,
    },
    store: { streams: streams.size, events: store.rows.length },
    lost: lostInStore + lostInReadModel,
    duplicatesApplied: unexplainedEvents + doubleClaims + readAhead + statsMismatches,
    detail: {
      lostInStore,
      lostInReadModel,
      unexplainedEvents,
      doubleClaims,
      versionGaps,
      readBehind,
      readAhead,
      statusMismatches,
      checkpointMismatches,
      statsMismatches,
      parked: Number(parked.rows[0]?.n ?? 0),
      missingOnKafka,
    },
    kafka: { records: records.length, duplicatesDelivered },
  };
}

async function withPg<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Waits until every stream's read-model version equals the store's (the pipeline drained). */
async function drained(writeUrl: string, readUrl: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const store = await withPg(writeUrl, (c) =>
      c.query<{ stream_id: string; v: string }>(
        'SELECT stream_id, max(version)::text AS v FROM events GROUP BY stream_id',
      ),
    ).catch(() => undefined);
    const read = await withPg(readUrl, (c) =>
      c.query<{ task_id: string; version: string }>('SELECT task_id, version::text FROM task_view'),
    ).catch(() => undefined);
    if (store && read) {
      const seen = new Map(read.rows.map((r) => [r.task_id, r.version]));
      if (store.rows.every((s) => seen.get(s.stream_id) === s.v)) return true;
    }
    await sleep(500);
  }
  return false;
}

// -------------------------------------------------------------------------------------- main

async function main() {
  const opts = program.parse().opts<Options>();
  const random = prng(opts.seed);
  const started = Date.now();
  if (!opts.reuseStack) {
    log(`starting the drill's stack (${JSON.stringify(stackSettings())})`);
    await stack('up');
  }
  const env = readStackEnv();
  const cleanups: (() => Promise<unknown>)[] = [];
  let exitCode = 0;
  try {
    await registerSchemas(env.registryUrl);
    const write = await createWriteDb(env);
    cleanups.push(() => write.db.drop());
    const read: ReadModelTestDatabase = await createReadModelTestDatabase({
      adminUrl: env.adminUrl,
      ownerUrl: env.ownerReadUrl,
      projectorUrl: env.projectorUrl,
      queryUrl: env.queryUrl,
      prefix: 'chaos_read',
    });
    cleanups.push(() => read.drop());
    const run = `${opts.seed}x${Date.now().toString(36)}`;
    const topic = `chaos.r${run}.tasks.task.events`;
    const admin = createKafka({ clientId: 'chaos', brokers: env.brokers }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    await admin.disconnect();

    const common = { KAFKA_BROKERS: env.brokers.join(','), SCHEMA_REGISTRY_URL: env.registryUrl, LOG_LEVEL: 'warn' };
    const system = new System({
      // Rate limiting off by its setting: retries after a fault come in bursts the drill must not see refused.
      'command-service': {
        ...common,
        DATABASE_URL: write.ownerUrl,
        OIDC_ISSUER_URL: env.issuerUrl,
        OIDC_AUDIENCE: env.audience,
        RATE_LIMIT_REQUESTS: '0',
      },
      'outbox-relay': {
        ...common,
        DATABASE_URL: write.relayUrl,
        OUTBOX_SLOT_NAME: `chaos_${run}`,
        OUTBOX_TOPIC_REPLACEMENT: `chaos.r${run}.\${aggregatetype}.events`,
      },
      projector: {
        ...common,
        DATABASE_URL: read.projectorUrl,
        PROJECTOR_TOPICS: topic,
        PROJECTOR_GROUP_PREFIX: `chaos-${run}`,
        PROJECTOR_STREAM_TOPIC_PREFIX: `chaos.r${run}.`,
        PROJECTOR_STREAM_GROUP_PREFIX: `chaos-${run}-`,
      },
    });
    cleanups.unshift(() => system.stop());
    await Promise.all((['command-service', 'outbox-relay', 'projector'] as const).map((name) => system.start(name)));
    const load = new Load(() => system.url('command-service'), opts, { url: env.issuerUrl, audience: env.audience });
    load.start();
    log(
      `load: ${opts.rate} commands/s from ${opts.workers} clients; scenarios ${opts.scenarios.join(', ')} x ${opts.iterations}, seed ${opts.seed}`,
    );
    await sleep(3000);
    const baseline = await measureRecovery(load, read.queryUrl, Date.now(), 'baseline');
    log(`baseline write-to-read latency ${baseline} ms`);

    const faults: {
      scenario: Scenario;
      iteration: number;
      recoveryMs: number | null;
      outageMs?: number;
      note?: string;
    }[] = [];
    for (let iteration = 1; iteration <= opts.iterations; iteration++) {
      for (const scenario of opts.scenarios) {
        await sleep(opts.settle * 1000 * (0.75 + random() / 2));
        const label = `${scenario}#${iteration}`;
        // The fault starts when the process is gone (killed, or stopped: a graceful broker
        // shutdown takes seconds, during which everything still flows); restarts begin at once,
        // except the registry's, which stays down for the outage.
        let restore: () => Promise<unknown>;
        let note: string | undefined;
        switch (scenario) {
          case 'relay-kill':
          case 'projector-kill':
          case 'command-kill': {
            const name = (
              {
                'relay-kill': 'outbox-relay',
                'projector-kill': 'projector',
                'command-kill': 'command-service',
              } as const
            )[scenario];
            await system.kill(name);
            restore = () => system.start(name);
            break;
          }
          case 'kafka-restart':
          case 'postgres-restart': {
            const service = scenario === 'kafka-restart' ? 'kafka' : 'postgres';
            await stack('stop-service', service);
            restore = () => stack('start-service', service);
            break;
          }
          case 'registry-outage':
            await stack('stop-service', 'schema-registry');
            restore = () => sleep(opts.registryOutage * 1000).then(() => stack('start-service', 'schema-registry'));
            note = `down ${opts.registryOutage} s`;
            break;
        }
        const faultAt = Date.now();
        const restored = restore().then(() => Date.now() - faultAt);
        const [recoveryMs, outageMs] = await Promise.all([
          measureRecovery(load, read.queryUrl, faultAt, label),
          restored,
        ]);
        if (scenario === 'registry-outage')
          note +=
            recoveryMs !== null && recoveryMs < outageMs
              ? '; delivered throughout (schemas cached by the apps)'
              : '; delivered again only after it was back';
        faults.push({ scenario, iteration, recoveryMs, outageMs, ...(note ? { note } : {}) });
        log(`${label}: delivering again ${recoveryMs ?? 'NEVER'} ms after the fault (back up after ${outageMs} ms)`);
      }
    }
    log('stopping the load, waiting for the pipeline to drain');
    await load.stop();
    const drainedInTime = await drained(write.ownerUrl, read.queryUrl, 180_000);
    const result = await oracle(load, write.ownerUrl, read.queryUrl, env.brokers, topic);
    const passed =
      system.crashes.length === 0 &&
      drainedInTime &&
      result.lost === 0 &&
      result.duplicatesApplied === 0 &&
      result.detail.versionGaps === 0 &&
      result.detail.readBehind === 0 &&
      result.detail.missingOnKafka === 0 &&
      result.detail.parked === 0 &&
      faults.every((f) => f.recoveryMs !== null);
    const byScenario = Object.fromEntries(
      opts.scenarios.map((s) => {
        const ms = faults.filter((f) => f.scenario === s).map((f) => f.recoveryMs ?? NaN);
        const sorted = [...ms].sort((a, b) => a - b);
        return [
          s,
          {
            runs: ms,
            median: sorted[Math.floor((sorted.length - 1) / 2)] ?? null,
            max: sorted[sorted.length - 1] ?? null,
          },
        ];
      }),
    );
    const report = {
      benchmark: 'fault drill',
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
        node: process.version,
        loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
      },
      method: {
        seed: opts.seed,
        iterations: opts.iterations,
        scenarios: opts.scenarios,
        load: `${opts.rate} commands/s target from ${opts.workers} clients: per task create, update, start, complete or abandon, each with If-Match and an Idempotency-Key; half the clients retry no answer or a 5xx with the same key for up to 120 s, half give up at once (unknown, resolved from the event store); a task is left alone after a command without a definite answer`,
        registryOutageSeconds: opts.registryOutage,
        recovery:
          'from the fault (kill -9 / stop) until a probe command acknowledged after it is visible in the read model; restarts begin right after the kill',
        stack: opts.reuseStack ? 'reused' : "the drill's own native stack",
      },
      passed,
      drained: drainedInTime,
      baselineLatencyMs: baseline,
      recoveryMs: byScenario,
      ...result,
      crashes: system.crashes,
      faults,
      durationSeconds: Math.round((Date.now() - started) / 1000),
    };
    writeFileSync(opts.out, `${JSON.stringify(report, null, 2)}\n`);
    log(
      `lost ${result.lost}, duplicates applied ${result.duplicatesApplied}, duplicates delivered ${result.kafka.duplicatesDelivered}, unknown ${JSON.stringify(result.commands.unknown)}; recovery ${JSON.stringify(Object.fromEntries(Object.entries(byScenario).map(([k, v]) => [k, v.runs])))}`,
    );
    log(`${passed ? 'PASSED' : 'FAILED'}: ${opts.out}`);
    if (!passed) {
      exitCode = 1;
      log(JSON.stringify(result.detail));
    }
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((e: Error) => log(`cleanup: ${e.message}`));
    if (!opts.reuseStack && !opts.keepStack) {
      log("stopping the drill's stack");
      await stack('down', '--purge').catch((e: Error) => log(`stack down: ${e.message}`));
    }
  }
  process.exit(exitCode);
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
