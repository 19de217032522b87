/**
 * What tracing costs (`npm run bench:tracing`): command throughput and latency of the whole
 * system (the four built apps as processes, on the servers @cqrs/testing resolves) with every
 * span exported over OTLP, against the same system with the OpenTelemetry SDK off, in one run.
 *
 * - "exported": OTEL_TRACES_EXPORTER=otlp, http/protobuf (the default), every trace sampled
 *   (parentbased_always_on), batch delay 1 s, to an OTLP/HTTP sink in this process that reads each
 *   request and answers 200 (a collector that keeps up), so the apps pay the whole SDK:
 *   spans, instrumentation hooks, serialisation and the HTTP export.
 * - "off": OTEL_SDK_DISABLED=true, what the SDK costs when it is not there at all.
 *
 * - "sampled": as exported with head sampling (parentbased_traceidratio, BENCH_TRACING_SAMPLE_RATIO,
 *   0.1), as a production deployment might run it; reported beside the goal, not instead of it.
 *
 * Load: closed loop, BENCH_TRACING_CLIENTS concurrent clients, each driving tasks through their
 * life (create, update, start, complete with If-Match) as fast as answers come. Each of
 * BENCH_TRACING_RUNS rounds runs every variant once, each on a fresh system after a warm-up, in an
 * order that rotates from round to round; costs are taken within a round. The result keeps every
 * run and the medians.
 *
 * Merges `tracing` into bench/results/e2e.json (the rest of the file is bench/e2e.bench.ts's).
 * Knobs: BENCH_TRACING_RUNS (3), BENCH_TRACING_SECONDS (15), BENCH_TRACING_CLIENTS (16).
 */
import { createKafka } from '@cqrs/messaging';
import { migrateEventStore } from '@cqrs/event-store';
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
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createReadModelTestDatabase } from '../libs/tasks/read-model/src/testing';

const RUNS = Number(process.env['BENCH_TRACING_RUNS'] ?? 3);
const SECONDS = Number(process.env['BENCH_TRACING_SECONDS'] ?? 15);
const CLIENTS = Number(process.env['BENCH_TRACING_CLIENTS'] ?? 16);
const WARMUP_SECONDS = 4;
const GOAL_MAX_THROUGHPUT_COST = 0.1;
/** The head-sampling ratio of the "sampled" variant (what a production deployment might run). */
const SAMPLE_RATIO = process.env['BENCH_TRACING_SAMPLE_RATIO'] ?? '0.1';

const log = (message: string) => console.log(`[bench:tracing] ${message}`);
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const spread = (xs: number[]) => ({
  median: round(median(xs)),
  min: round(Math.min(...xs)),
  max: round(Math.max(...xs)),
  runs: xs.map((x) => round(x)),
});

type Variant = 'off' | 'exported' | 'sampled';
const VARIANTS: Variant[] = ['off', 'exported', 'sampled'];

/** An OTLP/HTTP endpoint that takes every export and answers success, counting what it got. */
async function otlpSink() {
  let requests = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    take: () => {
      const taken = { requests, bytes };
      requests = 0;
      bytes = 0;
      return taken;
    },
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

const TRACING_ENV: Record<Variant, (endpoint: string) => Record<string, string>> = {
  off: () => ({ OTEL_SDK_DISABLED: 'true' }),
  exported: (endpoint) => ({
    OTEL_SDK_DISABLED: 'false',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    OTEL_BSP_SCHEDULE_DELAY: '1000',
  }),
  sampled: (endpoint) => ({
    ...TRACING_ENV.exported(endpoint),
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: SAMPLE_RATIO,
  }),
};

/** The four apps on throwaway databases, a slot, a topic and a group of their own. */
async function startSystem(infra: TestInfra, tracing: Record<string, string>) {
  const run = randomUUID().slice(0, 8);
  const write = await createThrowawayDatabase(infra.postgres.adminUrl, 'bench_trace_write');
  await migrateEventStore(write.url);
  const read = await createReadModelTestDatabase({
    adminUrl: infra.postgres.adminUrl,
    ownerUrl: infra.postgres.ownerReadUrl,
    projectorUrl: infra.postgres.readUrl,
    queryUrl: infra.postgres.queryUrl,
    prefix: 'bench_trace_read',
  });
  const topic = `bench.trace${run}.tasks.task.events`;
  const kafka = createKafka({ clientId: 'bench-tracing', ...infra.kafka });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  await admin.disconnect();
  const common = {
    KAFKA_BROKERS: infra.kafka.brokers.join(','),
    SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
    LOG_LEVEL: 'warn',
    ...tracing,
  };
  const apps: AppProcess[] = await Promise.all([
    // Rate limiting off by its setting: each benchmark user sends hundreds of commands a second.
    startApp('command-service', {
      ...common,
      DATABASE_URL: write.url,
      DATABASE_POOL_SIZE: '20',
      RATE_LIMIT_REQUESTS: '0',
    }),
    startApp('outbox-relay', {
      ...common,
      DATABASE_URL: write.url,
      OUTBOX_SLOT_NAME: `bench_trace_${run}`,
      OUTBOX_TOPIC_REPLACEMENT: `bench.trace${run}.\${aggregatetype}.events`,
    }),
    startApp('projector', {
      ...common,
      DATABASE_URL: read.projectorUrl,
      MIGRATIONS_READ_DATABASE_URL: read.ownerUrl,
      PROJECTOR_TOPICS: topic,
      PROJECTOR_GROUP_PREFIX: `bench-trace-${run}`,
      PROJECTOR_STREAM_TOPIC_PREFIX: `bench.trace${run}.`,
      PROJECTOR_STREAM_GROUP_PREFIX: `bench-trace-${run}-`,
    }),
    startApp('query-service', { ...common, DATABASE_URL: read.queryUrl }),
  ]);
  return {
    commandUrl: apps[0]!.url,
    stop: async () => {
      await Promise.all(apps.map((app) => app.stop()));
      await read.drop();
      await write.drop();
      const cleanup = kafka.admin();
      await cleanup.connect();
      await cleanup.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await cleanup.disconnect();
    },
  };
}

/** Closed loop: each client drives one task at a time through create, update, start, complete. */
async function closedLoop(commandUrl: string, seconds: number) {
  const latencies: number[] = [];
  let errors = 0;
  const stopAt = performance.now() + seconds * 1000;
  // One user (and one reused access token) per client.
  const tokens = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, n) => `Bearer ${await devToken(`bench-user-${n}`)}`),
  );
  const send = async (n: number, method: string, path: string, body: unknown, version?: number) => {
    const started = performance.now();
    const response = await fetch(commandUrl + path, {
      method,
      headers: {
        'content-type': 'application/json',
        authorization: tokens[n] ?? '',
        ...(version ? { 'if-match': `"${version}"` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = (await response.json()) as { taskId: string; version: number };
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status}`);
    latencies.push(performance.now() - started);
    return answer;
  };
  const client = async (n: number) => {
    for (let i = 0; performance.now() < stopAt; i++) {
      try {
        const { taskId, version } = await send(n, 'POST', '/tasks', { title: `bench ${n}-${i}` });
        if (performance.now() >= stopAt) break;
        const updated = await send(n, 'PATCH', `/tasks/${taskId}`, { description: 'benchmarked' }, version);
        if (performance.now() >= stopAt) break;
        const started = await send(n, 'POST', `/tasks/${taskId}/start`, undefined, updated.version);
        if (performance.now() >= stopAt) break;
        await send(n, 'POST', `/tasks/${taskId}/complete`, undefined, started.version);
      } catch {
        errors++;
      }
    }
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
  const elapsed = (performance.now() - began) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    commands: sorted.length,
    errors,
    commandsPerSecond: round(sorted.length / elapsed),
    p50Ms: round(percentile(sorted, 50), 2),
    p99Ms: round(percentile(sorted, 99), 2),
  };
}

async function main() {
  const infra = await getTestInfra();
  await registerSchemas(infra.schemaRegistry.url);
  const sink = await otlpSink();
  const environment = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    infrastructure: infra.source,
  };
  log(
    `${RUNS} rounds of runs (${VARIANTS.join(', ')}), ${SECONDS} s each after ${WARMUP_SECONDS} s warm-up, ${CLIENTS} clients`,
  );

  const runs: Record<
    Variant,
    (Awaited<ReturnType<typeof closedLoop>> & { exportRequests: number; exportedBytes: number })[]
  > = { off: [], exported: [], sampled: [] };
  try {
    for (let r = 0; r < RUNS; r++) {
      // The order rotates each round, so no variant always runs first (on a machine that drifts
      // within a round, a fixed order favoured whichever went first).
      for (const variant of VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]!)) {
        const system = await startSystem(infra, TRACING_ENV[variant](sink.endpoint));
        try {
          await closedLoop(system.commandUrl, WARMUP_SECONDS);
          sink.take();
          const result = await closedLoop(system.commandUrl, SECONDS);
          const exported = sink.take();
          runs[variant].push({ ...result, exportRequests: exported.requests, exportedBytes: exported.bytes });
          log(
            `run ${r + 1} ${variant}: ${result.commandsPerSecond} commands/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, errors ${result.errors}, exported ${exported.requests} requests / ${round(exported.bytes / 1024)} KiB`,
          );
        } finally {
          await system.stop();
        }
      }
    }
  } finally {
    await sink.close();
  }

  const summary = (variant: Variant) => ({
    commandsPerSecond: spread(runs[variant].map((x) => x.commandsPerSecond)),
    p50Ms: spread(runs[variant].map((x) => x.p50Ms)),
    p99Ms: spread(runs[variant].map((x) => x.p99Ms)),
  });
  const off = summary('off');
  const exported = summary('exported');
  const sampled = summary('sampled');
  // Per round, so drift across the run (other load on the machine) cancels out.
  const costsOf = (variant: Variant) =>
    runs.off.map((o, i) => 1 - (runs[variant][i]?.commandsPerSecond ?? NaN) / o.commandsPerSecond);
  const pairCosts = costsOf('exported');
  const throughputCost = round(median(pairCosts) * 100, 1);
  const sampledCosts = costsOf('sampled');
  const tracing = {
    recordedAt: new Date().toISOString(),
    environment,
    settings: {
      rounds: RUNS,
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      clients: CLIENTS,
      exporter: 'otlp http/protobuf, batch delay 1000 ms',
      samplers: { exported: 'parentbased_always_on', sampled: `parentbased_traceidratio ${SAMPLE_RATIO}` },
      apps: 'all four, fresh per run',
    },
    definitions: {
      off: 'OTEL_SDK_DISABLED=true in every app',
      exported: 'every span of every app exported over OTLP/HTTP (protobuf) to a sink that answers 200',
      sampled: `as exported, but only a ${SAMPLE_RATIO} share of new traces is recorded (head sampling; a request arriving with a sampled traceparent is always traced)`,
      commandsPerSecond:
        'closed loop: HTTP commands answered 2xx per second (create, update, start, complete with If-Match)',
      throughputCostPercent:
        'median over the rounds of 1 - exported/off commands per second: the goal is measured on this (every trace)',
      sampledThroughputCostPercent: 'the same for sampled/off',
    },
    off,
    exported,
    sampled,
    throughputCostPercent: throughputCost,
    throughputCostPercentPerRound: pairCosts.map((c) => round(c * 100, 1)),
    sampledThroughputCostPercent: round(median(sampledCosts) * 100, 1),
    sampledThroughputCostPercentPerRound: sampledCosts.map((c) => round(c * 100, 1)),
    p99IncreaseMs: round(exported.p99Ms.median - off.p99Ms.median, 2),
    sampledP99IncreaseMs: round(sampled.p99Ms.median - off.p99Ms.median, 2),
    runs,
    goal: { maxThroughputCostPercent: GOAL_MAX_THROUGHPUT_COST * 100 },
    meetsGoal: throughputCost <= GOAL_MAX_THROUGHPUT_COST * 100,
  };

  const file = join(repoRoot(), 'bench/results/e2e.json');
  mkdirSync(join(repoRoot(), 'bench/results'), { recursive: true });
  const existing = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)
    : { benchmark: 'e2e' };
  writeFileSync(file, `${JSON.stringify({ ...existing, tracing }, null, 2)}\n`);
  log(
    `tracing every trace costs ${throughputCost}% of throughput (goal < ${GOAL_MAX_THROUGHPUT_COST * 100}%), p99 ${off.p99Ms.median} -> ${exported.p99Ms.median} ms; ` +
      `sampling ${SAMPLE_RATIO} costs ${tracing.sampledThroughputCostPercent}%, p99 -> ${sampled.p99Ms.median} ms; written to bench/results/e2e.json (tracing)`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
