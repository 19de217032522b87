/**
 * End-to-end benchmark of the read side (`npm run bench:e2e`), on the servers @cqrs/testing
 * resolves, with the built apps as real processes:
 *
 * 1. write → read-model-visible latency at 100 and 500 commands/s: an open-loop client sends
 *    HTTP commands to the command-service on a fixed schedule; an event is "visible" when the
 *    projector's NOTIFY for its stream version arrives (the read-model transaction committed,
 *    which is also what wakes a read-your-writes query). Path: command-service → event store +
 *    outbox → outbox-relay (logical replication) → Kafka → projector → read model.
 * 2. projector throughput: a backlog of BENCH_EVENTS events on a topic, caught up by a fresh
 *    projector process (events/s from its first to its last commit).
 * 3. rebuild: `projector rebuild --source kafka` (the CLI) of that backlog into a new generation,
 *    from start to the switch.
 * 4. store rebuild: `projector rebuild --source store` of BENCH_EVENTS events of the same shape in
 *    the event store (a throwaway write database filled by SQL as its owner), read as the
 *    projector's role, from start to the switch (the handoff to an empty topic included).
 *
 * Transport security: the apps use the stack's SASL_SSL listener (TLS + SCRAM-SHA-512) as deployed;
 * the full path and the projector's catch-up are measured again on a PLAINTEXT listener of the same
 * broker (bench/transport.ts, BENCH_TRANSPORTS), and `transportCost` compares the two.
 *
 * Each measurement runs BENCH_RUNS times; the result file keeps every run and the median.
 * Writes bench/results/e2e.json. Knobs: BENCH_RUNS (3), BENCH_RATES (100,500), BENCH_RATE_SECONDS
 * (20), BENCH_PATHS (fullPath,readSide), BENCH_EVENTS (1000000), BENCH_ONLY (`storeRebuild`: only
 * measurement 4, whose figures then replace those of the result file, the rest of it kept).
 */
import { migrateEventStore } from '@cqrs/event-store';
import {
  createThrowawayDatabase as createStoreDatabase,
  type ThrowawayDatabase as StoreDatabase,
} from '@cqrs/event-store/testing';
import { AvroSerde, createSchemaRegistry, createKafka } from '@cqrs/messaging';
import { tasksTaskEventsContracts, tasksTaskEventsTopic, type TasksTaskEventsRecord } from '@cqrs/tasks-contracts';
import { decodeChangeNotices, TASKS_CHANGED_CHANNEL } from '@cqrs/tasks-read-model';
import {
  createThrowawayDatabase,
  devToken,
  getTestInfra,
  registerSchemas,
  repoRoot,
  startApp,
  type AppProcess,
  type TestInfra,
} from '@cqrs/testing';
import { type Kafka, Partitioners, type Admin } from 'kafkajs';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { Pool } from 'undici';
import { consumerGroupLag, totalLag } from '../libs/shared/messaging/src/consumer';
import { createReadModelTestDatabase, type ReadModelTestDatabase } from '../libs/tasks/read-model/src/testing';
import { openPlaintextListener, TRANSPORTS, type PlaintextListener } from './transport';

const exec = promisify(execFile);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const RATES = (process.env['BENCH_RATES'] ?? '100,500').split(',').filter(Boolean).map(Number);
const RATE_SECONDS = Number(process.env['BENCH_RATE_SECONDS'] ?? 20);
/** Which write paths to measure latency on: `fullPath` (HTTP commands) and/or `readSide` (events to Kafka). */
const PATHS = (process.env['BENCH_PATHS'] ?? 'fullPath,readSide')
  .split(',')
  .filter((p): p is 'fullPath' | 'readSide' => p === 'fullPath' || p === 'readSide');
const WARMUP_SECONDS = 3;
const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 1_000_000);
/** `storeRebuild`: measure only the rebuild from the event store. */
const ONLY = process.env['BENCH_ONLY'];
if (ONLY !== undefined && ONLY !== 'storeRebuild') throw new Error(`BENCH_ONLY=${ONLY}: only storeRebuild is known`);
const GOALS = {
  p50AtMaxRateMs: 40,
  p99AtMaxRateMs: 200,
  eventsPerSecond: 10_000,
  rebuildSeconds: 60,
  storeRebuildSeconds: 20,
};

const log = (message: string) => console.log(`[bench:e2e] ${message}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const spread = (xs: number[]) => ({
  median: round(median(xs)),
  min: round(Math.min(...xs)),
  max: round(Math.max(...xs)),
  runs: xs.map((x) => round(x)),
});

// ---------------------------------------------------------------------------------- latency

interface System {
  /** The command-service (full path only). */
  command?: AppProcess;
  /** The topic the projector consumes. */
  topic: string;
  stop(): Promise<void>;
  /** Resolves with the time the read model committed `version` of `streamId`. */
  visible(streamId: string, version: number): Promise<number>;
}

/**
 * The apps on throwaway databases and a topic of their own, plus a LISTENer on the read side:
 * all three write-side apps for the full path, or only the projector when the benchmark
 * produces the events itself (the read side alone).
 */
async function startSystem(
  infra: TestInfra,
  fullPath: boolean,
  kafkaEnv: Record<string, string | undefined> = {},
): Promise<System> {
  const run = randomUUID().slice(0, 8);
  const write = await createThrowawayDatabase(infra.postgres.adminUrl, 'bench_write');
  await migrateEventStore(write.url);
  const read = await createReadModelTestDatabase({
    adminUrl: infra.postgres.adminUrl,
    ownerUrl: infra.postgres.ownerReadUrl,
    projectorUrl: infra.postgres.readUrl,
    queryUrl: infra.postgres.queryUrl,
    prefix: 'bench_read',
  });
  const topic = `bench.e2e${run}.tasks.task.events`;
  await createTopic(infra, topic, 6);
  const common = {
    KAFKA_BROKERS: infra.kafka.brokers.join(','),
    SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
    LOG_LEVEL: 'warn',
    ...kafkaEnv,
  };
  const apps = await Promise.all([
    startApp('projector', {
      ...common,
      DATABASE_URL: read.projectorUrl,
      PROJECTOR_TOPICS: topic,
      PROJECTOR_GROUP_PREFIX: `bench-${run}`,
      PROJECTOR_STREAM_TOPIC_PREFIX: `bench.e2e${run}.`,
      PROJECTOR_STREAM_GROUP_PREFIX: `bench-${run}-`,
    }),
    ...(fullPath
      ? [
          // Rate limiting off by its setting: 50 benchmark users send thousands of commands a second.
          startApp('command-service', {
            ...common,
            DATABASE_URL: write.url,
            DATABASE_POOL_SIZE: '20',
            RATE_LIMIT_REQUESTS: '0',
          }),
          startApp('outbox-relay', {
            ...common,
            DATABASE_URL: write.url,
            OUTBOX_SLOT_NAME: `bench_${run}`,
            OUTBOX_TOPIC_REPLACEMENT: `bench.e2e${run}.\${aggregatetype}.events`,
          }),
        ]
      : []),
  ]);

  // stream id -> versions the read model reached, with when the NOTIFY arrived
  const reached = new Map<string, { version: number; at: number }[]>();
  const waiting = new Map<string, { version: number; resolve: (at: number) => void }[]>();
  const listener = new Client({ connectionString: read.queryUrl });
  await listener.connect();
  listener.on('notification', (n) => {
    const at = performance.now();
    for (const c of decodeChangeNotices(n.payload ?? '').changes) {
      reached.set(c.streamId, [...(reached.get(c.streamId) ?? []), { version: c.version, at }]);
      const ws = waiting.get(c.streamId);
      if (!ws) continue;
      const rest = ws.filter((w) => (w.version <= c.version ? (w.resolve(at), false) : true));
      if (rest.length) waiting.set(c.streamId, rest);
      else waiting.delete(c.streamId);
    }
  });
  await listener.query(`LISTEN ${TASKS_CHANGED_CHANNEL}`);

  return {
    command: apps.find((a) => a.name === 'command-service'),
    topic,
    visible: (streamId, version) => {
      const hit = reached.get(streamId)?.find((r) => r.version >= version);
      if (hit) return Promise.resolve(hit.at);
      return new Promise((resolve) => waiting.set(streamId, [...(waiting.get(streamId) ?? []), { version, resolve }]));
    },
    stop: async () => {
      await listener.end();
      await Promise.all(apps.map((a) => a.stop()));
      await read.drop();
      await write.drop();
    },
  };
}

/** One write: resolves when it was acknowledged, with the stream version it produced. */
type Write = () => Promise<{ streamId: string; version: number }>;

/**
 * Runs writes on a fixed schedule (open loop: a slow system does not slow the client down, so
 * queueing shows in the latencies) and measures, per write, the time from its scheduled start
 * to its acknowledgement and to its visibility in the read model.
 */
async function openLoop(rate: number, seconds: number, next: () => Write, visible: System['visible']) {
  const visibleMs: number[] = [];
  const writeMs: number[] = [];
  const errorKinds: Record<string, number> = {};
  let errors = 0;
  const pending: Promise<void>[] = [];
  const run = async (write: Write, scheduledAt: number, record: boolean) => {
    try {
      const { streamId, version } = await write();
      const acknowledgedAt = performance.now();
      const visibleAt = await visible(streamId, version);
      if (record) {
        writeMs.push(acknowledgedAt - scheduledAt);
        visibleMs.push(visibleAt - scheduledAt);
      }
    } catch (error) {
      errors++;
      const kind = (error as Error).message.slice(0, 60);
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    }
  };
  const total = Math.round(rate * (WARMUP_SECONDS + seconds));
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const scheduledAt = start + (i * 1000) / rate;
    const wait = scheduledAt - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(run(next(), scheduledAt, i >= rate * WARMUP_SECONDS));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  const v = visibleMs.sort((a, b) => a - b);
  const w = writeMs.sort((a, b) => a - b);
  return {
    rate,
    achievedRate: round(total / elapsed),
    writes: v.length,
    errors,
    errorKinds,
    visibleP50Ms: round(percentile(v, 50)),
    visibleP90Ms: round(percentile(v, 90)),
    visibleP99Ms: round(percentile(v, 99)),
    visibleMaxMs: round(v[v.length - 1] ?? NaN),
    writeP50Ms: round(percentile(w, 50)),
    writeP99Ms: round(percentile(w, 99)),
  };
}

/**
 * The task lifecycles both load generators follow: each task goes create → update → start →
 * complete; a task's next step waits for its previous one, new tasks fill the schedule.
 */
function lifecycles() {
  const owners = Array.from({ length: 50 }, (_, i) => `bench-user-${i}`);
  const ready: { taskId: string; step: number; version: number; owner: string }[] = [];
  let n = 0;
  return {
    owners,
    next(): { taskId: string | undefined; step: number; version: number; owner: string; n: number } {
      n++;
      const task = ready.length > 20 || (ready.length > 0 && n % 3 !== 0) ? ready.shift() : undefined;
      // A task's later steps are its owner's: nobody else may change it.
      return {
        taskId: task?.taskId,
        step: task?.step ?? 0,
        version: task?.version ?? 0,
        owner: task?.owner ?? owners[n % owners.length]!,
        n,
      };
    },
    done(taskId: string, step: number, version: number, owner: string) {
      if (step < 3) ready.push({ taskId, step: step + 1, version, owner });
    },
  };
}

/**
 * HTTP clients of the command-service by URL: undici's keep-alive pool, which costs the
 * 2-core machine about half what fetch does, so the load generator takes less from the system it measures.
 */
const httpClients = new Map<string, Pool>();
const httpClient = (url: string) =>
  httpClients.get(url) ?? httpClients.set(url, new Pool(url, { connections: 256 })).get(url)!;

/** Commands over HTTP to the command-service: the full write path. */
async function httpCommands(system: System): Promise<() => Write> {
  const tasks = lifecycles();
  const client = httpClient(system.command!.url);
  // Each owner's access token, fetched once and reused, as a client does.
  const tokens = new Map(
    await Promise.all(tasks.owners.map(async (owner) => [owner, `Bearer ${await devToken(owner)}`] as const)),
  );
  return () => async () => {
    const { taskId, step, version, owner, n } = tasks.next();
    const request = !taskId
      ? { method: 'POST', path: '/tasks', body: { title: `bench ${n}` } }
      : step === 1
        ? { method: 'PATCH', path: `/tasks/${taskId}`, body: { description: 'benchmarked' } }
        : step === 2
          ? { method: 'POST', path: `/tasks/${taskId}/start` }
          : { method: 'POST', path: `/tasks/${taskId}/complete` };
    const response = await client.request({
      method: request.method as 'POST' | 'PATCH',
      path: request.path,
      headers: {
        'content-type': 'application/json',
        authorization: tokens.get(owner) ?? '',
        ...(taskId ? { 'if-match': `"${version}"` } : {}),
      },
      body: 'body' in request ? JSON.stringify(request.body) : undefined,
    });
    const answer = (await response.body.json()) as { taskId: string; version: number; code?: string };
    if (response.statusCode >= 300) throw new Error(`${response.statusCode} ${answer.code ?? ''}`);
    tasks.done(answer.taskId, step, answer.version, owner);
    return { streamId: answer.taskId, version: answer.version };
  };
}

/** Events produced straight to the topic as the relay would: the read side alone. */
function topicEvents(infra: TestInfra, topic: string) {
  const serde = new AvroSerde({
    registry: createSchemaRegistry(infra.schemaRegistry),
    contracts: tasksTaskEventsContracts,
  });
  const producer = createKafka({ clientId: 'bench-events', ...infra.kafka }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const tasks = lifecycles();
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    next: (): Write => async () => {
      const { taskId = randomUUID(), step, n, owner } = tasks.next();
      const r = lifecycleRecord(taskId, owner, step, n);
      const value = await serde.encode(tasksTaskEventsTopic, r.eventType, r.value);
      await producer.send({
        topic,
        acks: -1,
        messages: [
          {
            key: taskId,
            value,
            headers: { id: r.value.eventId, eventType: r.eventType, aggregateVersion: String(step + 1) },
          },
        ],
      });
      tasks.done(taskId, step, step + 1, owner);
      return { streamId: taskId, version: step + 1 };
    },
  };
}

/** The contract record of step `step` of a benchmark task's life (the backlog adds a 5th). */
function lifecycleRecord(taskId: string, owner: string, step: number, i: number): TasksTaskEventsRecord {
  const base = {
    eventId: randomUUID(),
    aggregateId: taskId,
    aggregateVersion: step + 1,
    occurredAt: Date.UTC(2025, 0, 1) + i * 1000 + step,
    correlationId: null,
    causationId: null,
  };
  switch (step) {
    case 0:
      return {
        eventType: 'TaskCreated',
        value: { ...base, ownerId: owner, title: `task ${i}`, description: null, dueDate: null, priority: 'NORMAL' },
      };
    case 1:
      return {
        eventType: 'TaskUpdated',
        value: { ...base, title: `task ${i} (renamed)`, description: null, dueDate: null },
      };
    case 2:
      return { eventType: 'TaskStarted', value: base };
    case 3:
      return {
        eventType: 'TaskUpdated',
        value: { ...base, title: null, description: { value: 'in progress' }, dueDate: null },
      };
    default:
      return i % 4 === 0
        ? { eventType: 'TaskAbandoned', value: { ...base, reason: 'superseded' } }
        : { eventType: 'TaskCompleted', value: base };
  }
}

// ----------------------------------------------------------------------- backlog and rebuild

async function createTopic(infra: TestInfra, topic: string, partitions: number) {
  const admin = createKafka({ clientId: 'bench', ...infra.kafka }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
}

/**
 * Writes `events` task events to a new topic as the relay would (key = task id, Avro value,
 * headers): tasks of 5 events each (created, updated, started, updated, completed/abandoned),
 * interleaved across 10,000 tasks at a time as concurrent users would produce them.
 */
async function produceBacklog(infra: TestInfra, topic: string, events: number) {
  const serde = new AvroSerde({
    registry: createSchemaRegistry(infra.schemaRegistry),
    contracts: tasksTaskEventsContracts,
  });
  const kafka = createKafka({ clientId: 'bench-producer', ...infra.kafka });
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  const tasks = Math.ceil(events / 5);
  const chunk = 10_000;
  let produced = 0;
  const started = performance.now();
  for (let first = 0; first < tasks; first += chunk) {
    const ids = Array.from({ length: Math.min(chunk, tasks - first) }, () => randomUUID());
    for (let step = 0; step < 5; step++) {
      const messages = [];
      for (const [k, taskId] of ids.entries()) {
        if (produced + messages.length >= events) break;
        const i = first + k;
        const r = lifecycleRecord(taskId, `bench-owner-${i % 2000}`, step, i);
        const value = await serde.encode(tasksTaskEventsTopic, r.eventType, r.value);
        messages.push({
          key: taskId,
          value,
          headers: { id: r.value.eventId, eventType: r.eventType, aggregateVersion: String(step + 1) },
        });
      }
      for (let s = 0; s < messages.length; s += 5_000)
        await producer.send({ topic, acks: -1, messages: messages.slice(s, s + 5_000) });
      produced += messages.length;
    }
  }
  await producer.disconnect();
  log(`produced ${produced} events in ${round((performance.now() - started) / 1000)} s`);
  return produced;
}

async function waitForLag(
  admin: Admin,
  groupId: string,
  topic: string,
  onProgress: (lag: number) => void,
  timeoutMs = 15 * 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lag = totalLag(await consumerGroupLag(admin, groupId, [topic]));
    onProgress(lag);
    if (lag === 0) return;
    if (Date.now() > deadline) throw new Error(`still ${lag} behind after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A fresh read database; a projector process catches up the backlog; then the CLI rebuilds it. */
async function throughputAndRebuild(
  infra: TestInfra,
  topic: string,
  events: number,
  options: { kafkaEnv?: Record<string, string | undefined>; rebuild?: boolean } = {},
) {
  const run = randomUUID().slice(0, 8);
  const read: ReadModelTestDatabase = await createReadModelTestDatabase({
    adminUrl: infra.postgres.adminUrl,
    ownerUrl: infra.postgres.ownerReadUrl,
    projectorUrl: infra.postgres.readUrl,
    queryUrl: infra.postgres.queryUrl,
    prefix: 'bench_backlog',
  });
  const env = {
    KAFKA_BROKERS: infra.kafka.brokers.join(','),
    SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
    DATABASE_URL: read.projectorUrl,
    MIGRATIONS_READ_DATABASE_URL: read.ownerUrl,
    PROJECTOR_TOPICS: topic,
    PROJECTOR_GROUP_PREFIX: `bench-backlog-${run}`,
    PROJECTOR_STREAM_TOPIC_PREFIX: `bench-backlog-${run}.`,
    PROJECTOR_STREAM_GROUP_PREFIX: `bench-backlog-${run}-`,
    LOG_LEVEL: 'warn',
    ...options.kafkaEnv,
  };
  const admin = createKafka({ clientId: 'bench-lag', ...infra.kafka }).admin();
  await admin.connect();
  try {
    // Not `/health/ready`: the projector is ready only once its lag is under
    // PROJECTOR_READY_MAX_LAG, i.e. after it has caught up most of the backlog being timed.
    const startedAt = performance.now();
    const projector = await startApp('projector', env, { waitFor: '/health/live' });
    let firstProgressAt: number | undefined;
    await waitForLag(admin, `bench-backlog-${run}.g1`, topic, (lag) => {
      if (firstProgressAt === undefined && lag < events) firstProgressAt = performance.now();
    });
    const doneAt = performance.now();
    await projector.stop();
    // From the first commit (group join excluded) unless the backlog went too fast to see it start.
    const from = firstProgressAt !== undefined && doneAt - firstProgressAt >= 1000 ? firstProgressAt : startedAt;
    const applySeconds = (doneAt - from) / 1000;
    const live = {
      events,
      eventsPerSecond: Math.round(events / applySeconds),
      catchUpSeconds: round((doneAt - startedAt) / 1000, 2),
    };
    log(
      `projector${options.kafkaEnv ? ' (PLAINTEXT)' : ''}: ${live.eventsPerSecond} events/s (${live.catchUpSeconds} s to catch up ${events})`,
    );
    if (options.rebuild === false) return { live };

    const { stdout } = await exec(
      process.execPath,
      [
        join(repoRoot(), 'dist/apps/projector/cli.js'),
        'rebuild',
        '--source',
        'kafka',
        '--json',
        '--max-lag',
        '0',
        '--handoff-timeout',
        '0',
      ],
      {
        env: { ...process.env, ...env },
        timeout: 15 * 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const report = JSON.parse(stdout) as {
      events: number;
      durationMs: number;
      eventsPerSecond: number;
      generation: number;
    };
    log(`rebuild: ${report.events} events in ${round(report.durationMs / 1000, 2)} s (${report.eventsPerSecond}/s)`);
    return {
      live,
      rebuild: {
        events: report.events,
        seconds: round(report.durationMs / 1000, 2),
        eventsPerSecond: report.eventsPerSecond,
      } as { events: number; seconds: number; eventsPerSecond: number } | undefined,
    };
  } finally {
    await admin.disconnect();
    await read.drop();
  }
}

// --------------------------------------------------------------------------- store rebuild

/**
 * The backlog's events as the command side stores them (the domain events' data, TaskCreated at
 * schema version 2), in the backlog's order: tasks of 5 events, 10,000 tasks interleaved at a
 * time, owners and instants as `lifecycleRecord` gives them. $1: events, $2: a task id seed.
 */
const FILL_STORE = `
  INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version, data)
  SELECT gen_random_uuid(), t.task_id, 'tasks.task', s + 1,
    CASE s WHEN 0 THEN 'TaskCreated' WHEN 1 THEN 'TaskUpdated' WHEN 2 THEN 'TaskStarted' WHEN 3 THEN 'TaskUpdated'
      ELSE CASE WHEN n.i % 4 = 0 THEN 'TaskAbandoned' ELSE 'TaskCompleted' END END,
    CASE WHEN s = 0 THEN 2 ELSE 1 END,
    CASE s
      WHEN 0 THEN jsonb_build_object('taskId', t.task_id, 'ownerId', 'bench-owner-' || (n.i % 2000), 'title', 'task ' || n.i, 'priority', 'NORMAL', 'createdAt', t.at)
      WHEN 1 THEN jsonb_build_object('taskId', t.task_id, 'title', 'task ' || n.i || ' (renamed)', 'updatedAt', t.at)
      WHEN 2 THEN jsonb_build_object('taskId', t.task_id, 'startedAt', t.at)
      WHEN 3 THEN jsonb_build_object('taskId', t.task_id, 'description', 'in progress', 'updatedAt', t.at)
      ELSE CASE WHEN n.i % 4 = 0 THEN jsonb_build_object('taskId', t.task_id, 'reason', 'superseded', 'abandonedAt', t.at)
        ELSE jsonb_build_object('taskId', t.task_id, 'completedAt', t.at) END
    END
  FROM generate_series(0, ($1::int - 1) / 50000) c
  CROSS JOIN generate_series(0, 4) s
  CROSS JOIN generate_series(0, 9999) k
  CROSS JOIN LATERAL (SELECT c * 10000 + k AS i) n
  CROSS JOIN LATERAL (SELECT md5($2 || n.i)::uuid::text AS task_id,
    to_char(timestamp '2025-01-01' + (n.i * 1000 + s) * interval '1 millisecond', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at) t
  WHERE c * 50000 + s * 10000 + k < $1
  ORDER BY c, s, k`;

/** A throwaway write database holding `events` backlog-shaped events, readable by the projector's role. */
async function fillStore(infra: TestInfra, events: number): Promise<StoreDatabase> {
  const projector = new URL(infra.postgres.readUrl).username;
  const store = await createStoreDatabase({
    adminUrl: infra.postgres.adminUrl,
    ownerUrl: infra.postgres.ownerWriteUrl,
    prefix: 'bench_store',
    appRoles: [projector],
  });
  await migrateEventStore(store.url);
  const started = performance.now();
  const client = new Client({ connectionString: store.url });
  await client.connect();
  try {
    await client.query(FILL_STORE, [events, `bench-${randomUUID()}-`]);
    await client.query('VACUUM ANALYZE events');
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM events');
    log(`filled the event store with ${rows[0]?.n} events in ${round((performance.now() - started) / 1000)} s`);
  } finally {
    await client.end();
  }
  return store;
}

/**
 * `projector rebuild --source store` of the store into a fresh read database, handing over to an
 * empty topic; checked afterwards (one row per task, every version applied once).
 */
async function storeRebuild(infra: TestInfra, store: StoreDatabase, topic: string, events: number) {
  const run = randomUUID().slice(0, 8);
  const read = await createReadModelTestDatabase({
    adminUrl: infra.postgres.adminUrl,
    ownerUrl: infra.postgres.ownerReadUrl,
    projectorUrl: infra.postgres.readUrl,
    queryUrl: infra.postgres.queryUrl,
    prefix: 'bench_backlog',
  });
  try {
    const { stdout } = await exec(
      process.execPath,
      [
        join(repoRoot(), 'dist/apps/projector/cli.js'),
        'rebuild',
        '--source',
        'store',
        '--json',
        '--max-lag',
        '0',
        '--handoff-timeout',
        '0',
      ],
      {
        env: {
          ...process.env,
          KAFKA_BROKERS: infra.kafka.brokers.join(','),
          SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
          DATABASE_URL: read.projectorUrl,
          MIGRATIONS_READ_DATABASE_URL: read.ownerUrl,
          EVENT_STORE_DATABASE_URL: store.urlAs(infra.postgres.readUrl),
          PROJECTOR_TOPICS: topic,
          PROJECTOR_GROUP_PREFIX: `bench-store-${run}`,
          PROJECTOR_STREAM_TOPIC_PREFIX: `bench-store-${run}.`,
          PROJECTOR_STREAM_GROUP_PREFIX: `bench-store-${run}-`,
          LOG_LEVEL: 'warn',
        },
        timeout: 15 * 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const report = JSON.parse(stdout) as {
      events: number;
      durationMs: number;
      eventsPerSecond: number;
      store: { events: number; durationMs: number; eventsPerSecond: number };
    };
    const check = new Client({ connectionString: read.queryUrl });
    await check.connect();
    const { rows } = await check.query<{ tasks: string; versions: string }>(
      'SELECT (SELECT count(*) FROM task_view) AS tasks, (SELECT sum(version) FROM stream_checkpoints) AS versions',
    );
    await check.end();
    if (Number(rows[0]?.versions) !== events || Number(rows[0]?.tasks) !== Math.ceil(events / 5)) {
      throw new Error(
        `store rebuild: ${rows[0]?.tasks} tasks and ${rows[0]?.versions} versions applied, expected ${Math.ceil(events / 5)} and ${events}`,
      );
    }
    const result = {
      events: report.events,
      seconds: round(report.durationMs / 1000, 2),
      eventsPerSecond: report.eventsPerSecond,
      storeReadSeconds: round(report.store.durationMs / 1000, 2),
      storeEventsPerSecond: report.store.eventsPerSecond,
    };
    log(
      `store rebuild: ${result.events} events in ${result.seconds} s (${result.eventsPerSecond}/s; the store phase ${result.storeReadSeconds} s)`,
    );
    return result;
  } finally {
    await read.drop();
  }
}

/** Measurement 4, RUNS times over one filled store. */
async function measureStoreRebuild(infra: TestInfra) {
  const store = await fillStore(infra, EVENTS);
  const topic = `bench.store${randomUUID().slice(0, 8)}.events`;
  await createTopic(infra, topic, 6);
  const runs: Awaited<ReturnType<typeof storeRebuild>>[] = [];
  try {
    for (let r = 0; r < RUNS; r++) runs.push(await storeRebuild(infra, store, topic, EVENTS));
  } finally {
    const admin = createKafka({ clientId: 'bench', ...infra.kafka }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
    await store.drop();
  }
  return {
    storeRebuildSeconds: spread(runs.map((x) => x.seconds)),
    storeRebuildEventsPerSecond: spread(runs.map((x) => x.eventsPerSecond)),
    storeRebuildRuns: runs,
  };
}

// ------------------------------------------------------------------------------------- main

async function main() {
  const infra = await getTestInfra();
  await registerSchemas(infra.schemaRegistry.url);
  // The load average shows how much else ran on the machine: the figures are only as quiet as it was.
  const environment = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    infrastructure: infra.source,
    loadAverageAtStart: loadavg().map((l) => round(l, 2)),
  };
  if (ONLY === 'storeRebuild') return onlyStoreRebuild(infra, environment);
  log(
    `runs ${RUNS}, rates ${RATES.join('/')} cmd/s for ${RATE_SECONDS} s, backlog ${EVENTS} events, transports ${TRANSPORTS.join('/')}`,
  );
  // The PLAINTEXT listener serves the benchmark's own topics (bench.*) and groups (bench-*) only.
  const plaintext: PlaintextListener | undefined = TRANSPORTS.includes('PLAINTEXT')
    ? await openPlaintextListener(infra, { topicPrefix: 'bench.', groupPrefix: 'bench-' }, log)
    : undefined;
  try {
    await measure(infra, environment, plaintext);
  } finally {
    await plaintext?.close();
  }
}

/** BENCH_ONLY=storeRebuild: measurement 4 alone; its figures replace those in the result file, the rest is kept. */
async function onlyStoreRebuild(infra: TestInfra, environment: Record<string, unknown>) {
  log(`runs ${RUNS}, store rebuild of ${EVENTS} events only`);
  const measured = await measureStoreRebuild(infra);
  const file = join(repoRoot(), 'bench/results/e2e.json');
  const previous = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & {
        goals?: object;
        meetsGoals?: object;
        definitions?: object;
      })
    : {};
  // Next to the Kafka rebuild's figures (`rebuildSeconds`) when the file has them.
  const placed = Object.entries(previous)
    .filter(([key]) => !key.startsWith('storeRebuild'))
    .flatMap(([key, value]): [string, unknown][] =>
      key === 'rebuildSeconds' ? [[key, value], ...Object.entries(measured)] : [[key, value]],
    );
  const result = {
    ...Object.fromEntries(placed),
    ...measured,
    storeRebuildEnvironment: {
      ...environment,
      loadAverageAtEnd: loadavg().map((l) => round(l, 2)),
      recordedAt: new Date().toISOString(),
      events: EVENTS,
      runs: RUNS,
    },
    definitions: { ...previous.definitions, storeRebuild: STORE_REBUILD_DEFINITION },
    goals: { ...previous.goals, storeRebuildSeconds: GOALS.storeRebuildSeconds },
    meetsGoals: {
      ...previous.meetsGoals,
      storeRebuild: measured.storeRebuildSeconds.median < GOALS.storeRebuildSeconds,
    },
  };
  mkdirSync(join(repoRoot(), 'bench/results'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(
    `written bench/results/e2e.json: store rebuild median ${measured.storeRebuildSeconds.median} s (${measured.storeRebuildSeconds.min}-${measured.storeRebuildSeconds.max})`,
  );
}

const STORE_REBUILD_DEFINITION =
  '`projector rebuild --source store` of BENCH_EVENTS backlog-shaped events in the event store (read as the projector role, one snapshot), then the handoff to Kafka at the noted offsets: start to switch (includes building indexes)';

async function measure(
  infra: TestInfra,
  environment: Record<string, unknown>,
  plaintext: PlaintextListener | undefined,
) {
  type Latency = Awaited<ReturnType<typeof openLoop>>;
  type PathRun = 'fullPath' | 'readSide' | 'fullPathPlaintext';
  const latency: Record<PathRun, Record<string, Latency[]>> = { fullPath: {}, readSide: {}, fullPathPlaintext: {} };
  const pathRuns: PathRun[] = (RATES.length > 0 ? PATHS : []).flatMap((path): PathRun[] =>
    path === 'fullPath' && plaintext ? ['fullPath', 'fullPathPlaintext'] : [path],
  );
  for (const path of pathRuns) {
    const system = await startSystem(infra, path !== 'readSide', path === 'fullPathPlaintext' ? plaintext?.env : {});
    const events = topicEvents(infra, system.topic);
    await events.connect();
    const next = path !== 'readSide' ? await httpCommands(system) : events.next;
    try {
      await openLoop(50, 3, next, system.visible); // warm the JITs, pools and registry caches of every app
      for (const rate of RATES) {
        latency[path][rate] = [];
        for (let r = 0; r < RUNS; r++) {
          const result = await openLoop(rate, RATE_SECONDS, next, system.visible);
          latency[path][rate].push(result);
          log(
            `${path} ${rate}/s run ${r + 1}: visible p50 ${result.visibleP50Ms} ms, p99 ${result.visibleP99Ms} ms (write acknowledged p50 ${result.writeP50Ms} ms), errors ${result.errors} ${JSON.stringify(result.errorKinds)}`,
          );
        }
      }
    } finally {
      await events.disconnect();
      await system.stop();
    }
  }

  const backlogRuns: Awaited<ReturnType<typeof throughputAndRebuild>>[] = [];
  const plaintextBacklogRuns: Awaited<ReturnType<typeof throughputAndRebuild>>[] = [];
  let events = 0;
  if (EVENTS > 0) {
    const topic = `bench.backlog${randomUUID().slice(0, 8)}.events`;
    await createTopic(infra, topic, 6);
    events = await produceBacklog(infra, topic, EVENTS);
    for (let r = 0; r < RUNS; r++) {
      backlogRuns.push(await throughputAndRebuild(infra, topic, events));
      if (plaintext)
        plaintextBacklogRuns.push(
          await throughputAndRebuild(infra, topic, events, { kafkaEnv: plaintext.env, rebuild: false }),
        );
    }
    const admin = createKafka({ clientId: 'bench', ...infra.kafka }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
  }
  const storeRebuilds = EVENTS > 0 ? await measureStoreRebuild(infra) : undefined;

  const summarise = (byRate: Record<string, Latency[]>) =>
    Object.fromEntries(
      Object.entries(byRate).map(([rate, runs]) => [
        `${rate}PerSecond`,
        {
          visibleP50Ms: spread(runs.map((x) => x.visibleP50Ms)),
          visibleP99Ms: spread(runs.map((x) => x.visibleP99Ms)),
          writeAcknowledgedP50Ms: spread(runs.map((x) => x.writeP50Ms)),
          achievedRate: spread(runs.map((x) => x.achievedRate)),
          errors: runs.reduce((sum, x) => sum + x.errors, 0),
        },
      ]),
    );
  const summary = {
    fullPath: summarise(latency.fullPath),
    readSide: summarise(latency.readSide),
    ...(plaintext ? { fullPathPlaintext: summarise(latency.fullPathPlaintext) } : {}),
  };
  const maxRate = `${Math.max(0, ...RATES)}PerSecond`;
  const throughput = spread(backlogRuns.map((x) => x.live.eventsPerSecond));
  const rebuild = spread(backlogRuns.map((x) => x.rebuild!.seconds));
  const plaintextThroughput =
    plaintext && plaintextBacklogRuns.length
      ? spread(plaintextBacklogRuns.map((x) => x.live.eventsPerSecond))
      : undefined;
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? null : round(a / b, 2);
  const transportCost = plaintext
    ? {
        note: 'SASL_SSL (TLS + SCRAM-SHA-512, as deployed) against PLAINTEXT on the same broker, same run: medians and SASL_SSL / PLAINTEXT ratios',
        fullPathVisibleP50Ms: Object.fromEntries(
          RATES.map((rate) => [
            `${rate}PerSecond`,
            {
              SASL_SSL: summary.fullPath[`${rate}PerSecond`]?.visibleP50Ms.median,
              PLAINTEXT: summary.fullPathPlaintext?.[`${rate}PerSecond`]?.visibleP50Ms.median,
              ratio: ratio(
                summary.fullPath[`${rate}PerSecond`]?.visibleP50Ms.median,
                summary.fullPathPlaintext?.[`${rate}PerSecond`]?.visibleP50Ms.median,
              ),
            },
          ]),
        ),
        fullPathVisibleP99Ms: Object.fromEntries(
          RATES.map((rate) => [
            `${rate}PerSecond`,
            {
              SASL_SSL: summary.fullPath[`${rate}PerSecond`]?.visibleP99Ms.median,
              PLAINTEXT: summary.fullPathPlaintext?.[`${rate}PerSecond`]?.visibleP99Ms.median,
              ratio: ratio(
                summary.fullPath[`${rate}PerSecond`]?.visibleP99Ms.median,
                summary.fullPathPlaintext?.[`${rate}PerSecond`]?.visibleP99Ms.median,
              ),
            },
          ]),
        ),
        projectorEventsPerSecond: {
          SASL_SSL: throughput.median,
          PLAINTEXT: plaintextThroughput?.median,
          ratio: ratio(throughput.median, plaintextThroughput?.median),
          plaintextRuns: plaintextThroughput?.runs,
        },
      }
    : { skipped: 'no PLAINTEXT listener: only on the native stack, with BENCH_TRANSPORTS including PLAINTEXT' };
  const result = {
    benchmark: 'e2e',
    recordedAt: new Date().toISOString(),
    environment: { ...environment, loadAverageAtEnd: loadavg().map((l) => round(l, 2)) },
    settings: {
      runs: RUNS,
      rates: RATES,
      secondsPerRate: RATE_SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      backlogEvents: events,
      projectorConcurrency: 2,
      topicPartitions: 6,
    },
    definitions: {
      visible:
        'from the scheduled start of a write to the arrival of the projector NOTIFY for that stream version (read-model transaction committed)',
      fullPath:
        'writes are HTTP commands: command-service -> event store + outbox -> outbox-relay -> Kafka -> projector',
      readSide:
        'writes are events produced to Kafka as the relay does (acks=all): Kafka -> projector, the read side alone',
      fullPathPlaintext: 'fullPath with the relay and the projector on a PLAINTEXT listener of the same broker',
      throughput: 'a fresh projector process catching up the backlog: events / (last commit - first commit)',
      rebuild:
        '`projector rebuild --source kafka` of the backlog into a new generation: start to switch (includes building indexes)',
      storeRebuild: STORE_REBUILD_DEFINITION,
    },
    latency: summary,
    transportCost,
    latencyRuns: latency,
    projectorThroughputEventsPerSecond: throughput,
    rebuildSeconds: rebuild,
    ...storeRebuilds,
    backlogRuns,
    goals: GOALS,
    meetsGoals: {
      p50FullPath: (summary.fullPath[maxRate]?.visibleP50Ms.median ?? Infinity) <= GOALS.p50AtMaxRateMs,
      p99FullPath: (summary.fullPath[maxRate]?.visibleP99Ms.median ?? Infinity) <= GOALS.p99AtMaxRateMs,
      p50ReadSide: (summary.readSide[maxRate]?.visibleP50Ms.median ?? Infinity) <= GOALS.p50AtMaxRateMs,
      p99ReadSide: (summary.readSide[maxRate]?.visibleP99Ms.median ?? Infinity) <= GOALS.p99AtMaxRateMs,
      throughput: throughput.median >= GOALS.eventsPerSecond,
      rebuild: rebuild.median < GOALS.rebuildSeconds,
      storeRebuild: storeRebuilds ? storeRebuilds.storeRebuildSeconds.median < GOALS.storeRebuildSeconds : false,
    },
  };
  const dir = join(repoRoot(), 'bench/results');
  mkdirSync(dir, { recursive: true });
  // `tracing` comes from bench/tracing.bench.ts (npm run bench:tracing): keep it.
  const file = join(dir, 'e2e.json');
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { tracing?: unknown }) : {};
  writeFileSync(
    file,
    `${JSON.stringify({ ...result, ...(previous.tracing ? { tracing: previous.tracing } : {}) }, null, 2)}\n`,
  );
  log(`written bench/results/e2e.json: ${JSON.stringify(result.meetsGoals)}`);
}

main()
  .finally(() => Promise.all([...httpClients.values()].map((client) => client.close())))
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
