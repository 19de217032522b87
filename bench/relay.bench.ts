/**
 * Outbox relay benchmark (`npm run bench:relay`): outbox-relay against the real Debezium
 * connector (connect/), on the same machine, in the same run, on the servers @cqrs/testing
 * resolves. Writes bench/results/relay.json.
 *
 * 1. Throughput: BENCH_EVENTS (100,000) outbox rows committed while the system under test is
 *    stopped (its slot already exists), once with 2 KB and once with 300 B payloads; then the
 *    system starts and drains the backlog. events/s = events / (time the last record is on Kafka
 *    - time the first one is), both observed by polling the topic's end offsets every 50 ms, so
 *    start-up (JVM, Nest) does not count and nothing consumes the topic while it runs.
 * 2. Latency at a fixed BENCH_RATE (1,000) events/s for BENCH_RATE_SECONDS (15): single-event
 *    transactions (synchronous commit) from 4 writers on a fixed schedule; latency = the record's
 *    LogAppendTime (the topic is created with it: the broker's clock at append, i.e. the ack) minus
 *    the time COMMIT returned to the writer. Both clocks are this machine's.
 *
 * The relay runs twice: on the stack's SASL_SSL listener (TLS + SCRAM-SHA-512, as deployed) and on
 * a PLAINTEXT listener of the same broker (bench/transport.ts): `transportCost` is the price of
 * transport security. Debezium's Connect worker stays on SASL_SSL.
 *
 * Each system runs alone (the others are stopped) and the order rotates between runs. Every
 * measurement is taken BENCH_RUNS (3) times; the file keeps each run, the median and the spread.
 */
import { createKafka } from '@cqrs/messaging';
import {
  CONNECT_PRINCIPAL,
  getTestInfra,
  grantTopicPrefix,
  repoRoot,
  startApp,
  type AppProcess,
  type TestInfra,
} from '@cqrs/testing';
import type { Kafka, Admin } from 'kafkajs';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { readTopics } from '../apps/outbox-relay/src/testing/kafka-topic-reader';
import {
  createOutboxTestDb,
  fakeAvroPayload,
  type OutboxTestDb,
} from '../apps/outbox-relay/src/testing/outbox-test-db';
import { openPlaintextListener, type PlaintextListener } from './transport';

const exec = promisify(execFile);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 100_000);
const RATE = Number(process.env['BENCH_RATE'] ?? 1000);
const RATE_SECONDS = Number(process.env['BENCH_RATE_SECONDS'] ?? 15);
const SIZES = (process.env['BENCH_SIZES'] ?? '2048,300').split(',').map(Number);
/** Extra environment for the relay process (JSON), to compare settings: '{"OUTBOX_BATCH_MAX_EVENTS":"1000"}'. */
const RELAY_ENV = JSON.parse(process.env['BENCH_RELAY_ENV'] ?? '{}') as Record<string, string>;
/** Which systems to run (both, unless narrowed for an experiment; the report then lacks the ratios). */
let SYSTEMS = (process.env['BENCH_SYSTEMS'] ?? 'outboxRelay,outboxRelayPlaintext,debezium').split(',') as System[];
const SKIP_LATENCY = process.env['BENCH_SKIP_LATENCY'] === '1';
const GOALS = { throughputEventsPerSecond: 20_000, p99AtRateMs: 100 };

/** outboxRelay: on SASL_SSL as deployed; outboxRelayPlaintext: the same relay on a PLAINTEXT listener. */
type System = 'outboxRelay' | 'outboxRelayPlaintext' | 'debezium';
const ALL_SYSTEMS: System[] = ['outboxRelay', 'outboxRelayPlaintext', 'debezium'];
/** Topic and slot infix of a system's run. */
const TAG: Record<System, string> = { outboxRelay: 'relay', outboxRelayPlaintext: 'plain', debezium: 'dbz' };
let plaintext: PlaintextListener | undefined;

interface Running {
  stop(): Promise<void>;
  /** Why the system stopped working (a failed connector task), if it did. */
  failure?(): Promise<string | undefined>;
}

// Relay processes this run started: killed if the benchmark dies, so none outlives it holding a slot.
const children = new Set<AppProcess>();
process.on('exit', () => {
  for (const app of children) app.process.kill('SIGKILL');
});

async function main() {
  const infra = await getTestInfra();
  const id = randomBytes(3).toString('hex');
  if (SYSTEMS.includes('outboxRelayPlaintext')) {
    plaintext = await openPlaintextListener(infra, { topicPrefix: `bench-${id}` }, (m) =>
      console.error(`[bench:relay] ${m}`),
    );
    if (!plaintext) SYSTEMS = SYSTEMS.filter((s) => s !== 'outboxRelayPlaintext');
  }
  const kafka = createKafka({ clientId: 'bench-relay', ...infra.kafka });
  const admin = kafka.admin();
  await admin.connect();
  // Connect's identity may write the system's topics only: grant it this run's, as an operator would a new connector's.
  const revokeConnect = await grantTopicPrefix(admin, CONNECT_PRINCIPAL, `bench-${id}`);
  const runs: Record<string, unknown>[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      const active = ALL_SYSTEMS.filter((s) => SYSTEMS.includes(s));
      const order = active.map((_, i) => active[(i + run) % active.length]!);
      const result: Record<string, unknown> = { run: run + 1, order };
      for (const size of SIZES.filter((s) => s > 0)) {
        result[`throughput${size}B`] = await throughputRun(infra, admin, `${id}r${run}s${size}`, size, order);
      }
      if (!SKIP_LATENCY) result['latency'] = await latencyRun(infra, admin, `${id}r${run}l`, order);
      runs.push(result);
      console.error(`[bench:relay] run ${run + 1}/${RUNS}: ${JSON.stringify(result)}`);
    }
  } finally {
    await revokeConnect();
    await admin.disconnect();
    await plaintext?.close();
  }

  if (
    !SYSTEMS.includes('outboxRelay') ||
    !SYSTEMS.includes('debezium') ||
    SKIP_LATENCY ||
    SIZES.length < 2 ||
    SIZES[0] === 0
  ) {
    console.log(JSON.stringify(runs, null, 2)); // an experiment: no report file
    return;
  }
  const pick = (system: System, metric: (run: Record<string, unknown>) => number) => summarize(runs.map(metric));
  const summary = Object.fromEntries(
    ALL_SYSTEMS.filter((s) => SYSTEMS.includes(s)).map((system) => [
      system,
      {
        throughput2KBEventsPerSecond: pick(system, (r) => (r['throughput2048B'] as Record<System, number>)[system]),
        throughput300BEventsPerSecond: pick(system, (r) => (r['throughput300B'] as Record<System, number>)[system]),
        latencyP50Ms: pick(system, (r) => (r['latency'] as Record<System, { p50: number }>)[system].p50),
        latencyP99Ms: pick(system, (r) => (r['latency'] as Record<System, { p99: number }>)[system].p99),
      },
    ]),
  ) as unknown as Record<System, Record<string, { median: number; min: number; max: number }>>;
  const ratio = (metric: string) => round(summary.outboxRelay[metric]!.median / summary.debezium[metric]!.median, 2);
  const secured = (metric: string) =>
    round(summary.outboxRelay[metric]!.median / summary.outboxRelayPlaintext[metric]!.median, 2);
  const transportCost = summary.outboxRelayPlaintext
    ? {
        throughput2KB: secured('throughput2KBEventsPerSecond'),
        throughput300B: secured('throughput300BEventsPerSecond'),
        latencyP50: secured('latencyP50Ms'),
        latencyP99: secured('latencyP99Ms'),
        note: 'outbox-relay on SASL_SSL (TLS 1.3 + SCRAM-SHA-512) / the same relay on PLAINTEXT, same broker, same run: below 1 costs throughput, above 1 costs latency',
      }
    : { skipped: 'no PLAINTEXT listener: only on the native stack' };
  const relay = summary.outboxRelay;
  const report = {
    benchmark: 'outbox-relay vs Debezium outbox connector',
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      infra: infra.source,
    },
    method: {
      events: EVENTS,
      payloadBytes: SIZES,
      transactionSize: 5,
      rate: RATE,
      rateSeconds: RATE_SECONDS,
      runs: RUNS,
      throughput:
        'backlog drained by a freshly started system; events / (last record on Kafka - first record on Kafka)',
      latency: 'record LogAppendTime - writer COMMIT return, single-event transactions at a fixed rate',
      debezium:
        'connect/outbox-connector.json via connect/register.mts, Debezium 3.4.3.Final on the stack Connect worker',
      transport:
        'outboxRelay and debezium on the SASL_SSL listener (TLS + SCRAM-SHA-512, the benchmark admin identity); outboxRelayPlaintext on a PLAINTEXT listener of the same broker',
    },
    summary,
    transportCost,
    ratios: {
      throughput2KB: ratio('throughput2KBEventsPerSecond'),
      throughput300B: ratio('throughput300BEventsPerSecond'),
      latencyP50: ratio('latencyP50Ms'),
      latencyP99: ratio('latencyP99Ms'),
      note: 'outbox-relay / Debezium: above 1 is better for throughput, below 1 is better for latency',
    },
    goals: {
      throughputAtLeast20k:
        relay['throughput2KBEventsPerSecond']!.median >= GOALS.throughputEventsPerSecond &&
        relay['throughput300BEventsPerSecond']!.median >= GOALS.throughputEventsPerSecond,
      p99AtOrUnder100ms: relay['latencyP99Ms']!.median <= GOALS.p99AtRateMs,
      aheadOfDebeziumOnThroughput:
        ratio('throughput2KBEventsPerSecond') > 1 && ratio('throughput300BEventsPerSecond') > 1,
      aheadOfDebeziumOnLatency: ratio('latencyP99Ms') < 1,
    },
    runs,
  };
  const dir = join(repoRoot(), 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'relay.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify({ summary: report.summary, ratios: report.ratios, goals: report.goals }, null, 2));
}

/** One backlog of EVENTS rows of `size` bytes, drained by each system in turn. */
async function throughputRun(
  infra: TestInfra,
  admin: Admin,
  id: string,
  size: number,
  order: System[],
): Promise<Record<System, number>> {
  const db = await createOutboxTestDb(
    {
      adminUrl: infra.postgres.adminUrl,
      ownerWriteUrl: infra.postgres.ownerWriteUrl,
      relayUrl: infra.postgres.relayUrl,
    },
    'bench_relay',
  );
  const topics = Object.fromEntries(
    order.map((system) => [system, `bench-${id}-${TAG[system]}.bench.task.events`]),
  ) as Record<System, string>;
  try {
    for (const system of order) await db.createSlot(slotOf(id, system));
    await createTopics(admin, Object.values(topics));
    await prefill(db, EVENTS, size);
    const result = {} as Record<System, number>;
    for (const system of order) {
      const running = await startSystem(system, infra, db, id);
      try {
        result[system] = await drainRate(admin, topics[system], EVENTS, running);
      } finally {
        await running.stop();
      }
    }
    return result;
  } finally {
    await db.drop();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  }
}

/** Commit-to-append latency of single-event transactions at RATE events/s, per system. */
async function latencyRun(
  infra: TestInfra,
  admin: Admin,
  id: string,
  order: System[],
): Promise<Record<System, { p50: number; p99: number; max: number; events: number }>> {
  const result = {} as Record<System, { p50: number; p99: number; max: number; events: number }>;
  for (const system of order) {
    const db = await createOutboxTestDb(
      {
        adminUrl: infra.postgres.adminUrl,
        ownerWriteUrl: infra.postgres.ownerWriteUrl,
        relayUrl: infra.postgres.relayUrl,
      },
      'bench_relay_latency',
    );
    const topic = `bench-${id}-${TAG[system]}.bench.task.events`;
    try {
      await db.createSlot(slotOf(id, system));
      await createTopics(admin, [topic]);
      const running = await startSystem(system, infra, db, id);
      try {
        // Let the system settle (JVM warm-up, first metadata) on a short burst that is not measured.
        await writeAtRate(db, RATE, 2);
        const committed = await writeAtRate(db, RATE, RATE_SECONDS);
        const records = await readTopics(infra.kafka.brokers, [topic], committed.size + RATE * 2, {
          timeoutMs: 120_000,
        });
        const latencies = records.flatMap((r) => {
          const at = committed.get(r.headers['id'] ?? '');
          return at === undefined ? [] : [r.timestamp - at];
        });
        // Diagnostics: every (commit time, latency) pair, to see whether slow events cluster.
        if (process.env['BENCH_DUMP_LATENCY']) {
          const pairs = records.flatMap((r) => {
            const at = committed.get(r.headers['id'] ?? '');
            return at === undefined ? [] : [[at, r.timestamp - at]];
          });
          writeFileSync(`${process.env['BENCH_DUMP_LATENCY']}.${system}.json`, JSON.stringify(pairs));
        }
        latencies.sort((a, b) => a - b);
        result[system] = {
          p50: percentile(latencies, 0.5),
          p99: percentile(latencies, 0.99),
          max: latencies.at(-1) ?? NaN,
          events: latencies.length,
        };
      } finally {
        await running.stop();
      }
    } finally {
      await db.drop();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    }
  }
  return result;
}

const slotOf = (id: string, system: System) => `bench_${id}_${TAG[system]}`;

async function startSystem(system: System, infra: TestInfra, db: OutboxTestDb, id: string): Promise<Running> {
  if (system !== 'debezium') {
    const app: AppProcess = await startApp(
      'outbox-relay',
      {
        DATABASE_URL: db.relayUrl,
        KAFKA_BROKERS: infra.kafka.brokers.join(','),
        OUTBOX_SLOT_NAME: slotOf(id, system),
        OUTBOX_TOPIC_REPLACEMENT: `bench-${id}-${TAG[system]}.\${aggregatetype}.events`,
        LOG_LEVEL: 'warn',
        ...(system === 'outboxRelayPlaintext' ? plaintext!.env : {}),
        ...RELAY_ENV,
      },
      { waitFor: '/health/live' },
    );
    children.add(app);
    return {
      stop: async () => {
        await app.stop();
        children.delete(app);
      },
    };
  }
  const name = `bench-${id}`;
  const node = existsSync(join(repoRoot(), 'node_modules/.bin/node'))
    ? join(repoRoot(), 'node_modules/.bin/node')
    : process.execPath;
  await exec(node, [join(repoRoot(), 'connect/register.mts')], {
    env: {
      ...process.env,
      KAFKA_CONNECT_URL: infra.connect.url,
      DEBEZIUM_DATABASE_URL: db.relayUrl,
      DEBEZIUM_CONNECTOR_NAME: name,
      DEBEZIUM_SLOT_NAME: slotOf(id, system),
      DEBEZIUM_TOPIC_PREFIX: name,
      DEBEZIUM_TOPIC_REPLACEMENT: `bench-${id}-dbz.\${routedByValue}.events`,
    },
    timeout: 120_000,
  });
  return {
    failure: async () => {
      const status = (await (await fetch(`${infra.connect.url}/connectors/${name}/status`)).json()) as {
        tasks?: { state: string; trace?: string }[];
      };
      const failed = status.tasks?.find((t) => t.state === 'FAILED');
      return failed ? `connector ${name} failed: ${(failed.trace ?? '').split('\n')[0]}` : undefined;
    },
    stop: async () => {
      await fetch(`${infra.connect.url}/connectors/${name}`, { method: 'DELETE' });
      // The task releases the slot shortly after the connector is deleted.
      for (let i = 0; i < 100; i++) {
        const [row] = await db.query<{ active: boolean }>(
          'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
          [slotOf(id, system)],
        );
        if (!row?.active) break;
        await sleep(200);
      }
    },
  };
}

async function createTopics(admin: Admin, topics: string[]) {
  await admin.createTopics({
    topics: topics.map((topic) => ({
      topic,
      numPartitions: 6,
      configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }],
    })),
    waitForLeaders: true,
  });
}

/** EVENTS rows in 5-row transactions over 1,000 aggregates, committed before the system starts. */
async function prefill(db: OutboxTestDb, events: number, size: number) {
  const client = new Client({ connectionString: db.ownerUrl });
  client.on('error', () => undefined); // surfaces through the next query instead
  await client.connect();
  try {
    await client.query('SET synchronous_commit = off'); // only the backlog's build-up, not measured
    const payload = fakeAvroPayload(size);
    for (let n = 0; n < events; n += 5) {
      const params: unknown[] = [];
      const values: string[] = [];
      for (let i = n; i < Math.min(n + 5, events); i++) {
        params.push(randomUUID(), `task-${i % 1000}`, payload, Math.floor(i / 1000) + 1);
        const p = params.length;
        values.push(
          `($${p - 3}, 'bench.task', $${p - 2}, 'TaskCreated', $${p - 1}, $${p}, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', NULL, 'bench')`,
        );
      }
      await client.query(
        `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, aggregateversion, traceparent, tracestate, correlationid) VALUES ${values.join(', ')}`,
        params,
      );
    }
  } finally {
    await client.end();
  }
}

/** Events/s from the first to the last record appearing on the topic (end offsets polled every 50 ms). */
async function drainRate(admin: Admin, topic: string, events: number, running: Running): Promise<number> {
  let first: number | undefined;
  const deadline = Date.now() + 15 * 60_000;
  for (let poll = 0; ; poll++) {
    const failure = poll % 40 === 39 ? await running.failure?.() : undefined;
    if (failure) throw new Error(`${topic}: ${failure}`);
    const offsets = await admin.fetchTopicOffsets(topic);
    const count = offsets.reduce((sum, p) => sum + Number(p.high), 0);
    const now = performance.now();
    if (count > 0 && first === undefined) first = now;
    if (count >= events) return Math.round((events / (now - first!)) * 1000);
    if (Date.now() > deadline) throw new Error(`${topic}: only ${count} of ${events} records after 15 minutes`);
    await sleep(50);
  }
}

/** Single-event transactions at `rate`/s for `seconds` from 4 connections; event id → COMMIT time. */
async function writeAtRate(db: OutboxTestDb, rate: number, seconds: number): Promise<Map<string, number>> {
  const committed = new Map<string, number>();
  const writers = 4;
  const total = rate * seconds;
  const start = Date.now() + 100;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const client = new Client({ connectionString: db.ownerUrl });
      client.on('error', () => undefined); // surfaces through the next query instead
      await client.connect();
      try {
        for (let n = w; n < total; n += writers) {
          const due = start + (n * 1000) / rate;
          if (due > Date.now()) await sleep(due - Date.now());
          const id = randomUUID();
          await client.query(
            `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, aggregateversion) VALUES ($1, 'bench.task', $2, 'TaskCreated', $3, $4)`,
            [id, `task-${n % 500}`, fakeAvroPayload(n % 2 ? 300 : 2048), Math.floor(n / 500) + 1],
          );
          committed.set(id, Date.now());
        }
      } finally {
        await client.end();
      }
    }),
  );
  return committed;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function summarize(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: round(sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN, 1),
    min: round(sorted[0] ?? NaN, 1),
    max: round(sorted.at(-1) ?? NaN, 1),
    runs: values,
  };
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
