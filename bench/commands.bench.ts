/**
 * Command-side benchmark (`npm run bench:commands`), against the running command service built
 * from this repo (the image's command, as e2e tests start it) on the servers @cqrs/testing resolves:
 *   - sustained commands/s: a closed loop of concurrent clients creating and starting tasks;
 *   - latency p50/p95/p99 at fixed offered rates (200, 500, 1000/s), open loop: each request is
 *     timed from when it was *scheduled*, so a server that falls behind shows it (no coordinated omission);
 *   - stream loads with and without snapshots, from bench/results/event-store.json (bench:event-store
 *     runs first in the same npm script).
 * Writes bench/results/commands.json. Several runs per figure; the median and the spread are reported.
 *
 * The load generator shares the 2 cores with the service and Postgres, so it uses undici's
 * keep-alive Pool (a quarter of a core at 2,000 commands/s) rather than fetch (about twice that);
 * its CPU share is reported beside the figures.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { migrateEventStore } from '@cqrs/event-store';
import { createThrowawayDatabase, getTestInfra, registerSchemas, repoRoot, startApp } from '@cqrs/testing';
import { Pool } from 'undici';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const RATES = [200, 500, 1000];
const CONCURRENCY = 64;

interface Sample { latencies: number[]; errors: number; ok: number; seconds: number }

const cpuTotal = (usage: NodeJS.CpuUsage) => usage.user + usage.system;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const spread = (values: number[]) => (values.length ? Math.round(((Math.max(...values) - Math.min(...values)) / median(values)) * 1000) / 10 : NaN);

const JSON_HEADERS = { 'content-type': 'application/json' };

/** POST /tasks; the new task's id, or undefined when it was not a 201. */
async function createTask(client: Pool, ownerId: string, title: string): Promise<string | undefined> {
  const res = await client.request({ path: '/tasks', method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ ownerId, title }) });
  if (res.statusCode !== 201) {
    await res.body.dump();
    return undefined;
  }
  return ((await res.body.json()) as { taskId: string }).taskId;
}

async function startTask(client: Pool, taskId: string): Promise<boolean> {
  const res = await client.request({ path: `/tasks/${taskId}/start`, method: 'POST' });
  await res.body.dump();
  return res.statusCode === 200;
}

async function command(client: Pool, i: number): Promise<boolean> {
  // alternate creates and starts so both new and existing streams are exercised
  const taskId = await createTask(client, `bench-${i % 50}`, `bench task ${i}`);
  return taskId !== undefined && (await startTask(client, taskId));
}

/** Closed loop: as fast as CONCURRENCY clients can go; each iteration is two commands. */
async function sustained(client: Pool): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let commands = 0;
  let i = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) if (await command(client, i++)) commands += 2;
    }),
  );
  return commands / SECONDS;
}

/** Open loop at `rate` commands/s (rate/2 create+start pairs), latency per command from its scheduled time. */
async function fixedRate(client: Pool, rate: number): Promise<Sample> {
  const pairs = Math.round((rate / 2) * SECONDS);
  const interval = 2000 / rate;
  const start = performance.now();
  const sample: Sample = { latencies: [], errors: 0, ok: 0, seconds: SECONDS };
  const inFlight: Promise<void>[] = [];
  for (let n = 0; n < pairs; n++) {
    const scheduled = start + n * interval;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(
      (async () => {
        const taskId = await createTask(client, `rate-${n % 50}`, `rate task ${n}`).catch(() => undefined);
        const created = performance.now();
        sample.latencies.push(created - scheduled);
        if (taskId === undefined) return void sample.errors++;
        sample.ok++;
        const ok = await startTask(client, taskId).catch(() => false);
        sample.latencies.push(performance.now() - created);
        if (ok) sample.ok++;
        else sample.errors++;
      })(),
    );
  }
  await Promise.all(inFlight);
  return sample;
}

async function main() {
  const infra = await getTestInfra();
  await registerSchemas(infra.schemaRegistry.url);
  // A write database of its own: the stack's cqrs_write feeds `npm start`'s relay slot, which would
  // otherwise retain (and later publish) every benchmark command.
  const write = await createThrowawayDatabase(infra.postgres.adminUrl, 'bench_write');
  await migrateEventStore(write.url);
  const app = await startApp('command-service', {
    DATABASE_URL: write.url,
    SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
    DATABASE_POOL_SIZE: '20',
    LOG_LEVEL: 'warn',
  });
  // One connection per concurrent client; the fixed-rate runs open more as they need them.
  const client = new Pool(app.url, { connections: CONCURRENCY * 4 });
  const clientCpu = process.cpuUsage();
  const started = performance.now();
  try {
    await sustained(client); // warm-up: JIT, pools, schema ids
    const sustainedRuns: number[] = [];
    for (let r = 0; r < RUNS; r++) sustainedRuns.push(await sustained(client));

    const rates = [];
    for (const rate of RATES) {
      const runs = [];
      for (let r = 0; r < RUNS; r++) {
        const s = await fixedRate(client, rate);
        const sorted = [...s.latencies].sort((a, b) => a - b);
        runs.push({ p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), achieved: s.ok / s.seconds, errors: s.errors });
      }
      rates.push({
        offeredPerSec: rate,
        achievedPerSec: Math.round(median(runs.map((r) => r.achieved))),
        errors: runs.reduce((n, r) => n + r.errors, 0),
        latencyMs: {
          p50: Math.round(median(runs.map((r) => r.p50)) * 10) / 10,
          p95: Math.round(median(runs.map((r) => r.p95)) * 10) / 10,
          p99: Math.round(median(runs.map((r) => r.p99)) * 10) / 10,
          p99SpreadPct: spread(runs.map((r) => r.p99)),
        },
      });
    }

    const storeFile = join(repoRoot(), 'bench/results/event-store.json');
    const streamLoads = existsSync(storeFile) ? (JSON.parse(readFileSync(storeFile, 'utf8')) as Record<string, unknown>)['streamLoad'] ?? null : null;
    const at500 = rates.find((r) => r.offeredPerSec === 500);
    const result = {
      benchmark: 'commands',
      description:
        'Command service over HTTP (built app, node --import instrumentation.js main.js, OpenTelemetry exporting nothing, so not started; defaults otherwise: aggregate cache, group commit with 4 appends in flight, DATABASE_POOL_SIZE 20) on the local stack, load generator (undici Pool) on the same 2 cores. Sustained = closed loop of 64 clients; fixed rates = open loop, latency from scheduled send time. Median of runs.',
      generatedAt: new Date().toISOString(),
      node: process.version,
      cores: cpus().length,
      loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
      loadGeneratorCpuPctOfOneCore: Math.round(((cpuTotal(process.cpuUsage(clientCpu)) / 1000) / (performance.now() - started)) * 100),
      runs: RUNS,
      secondsPerRun: SECONDS,
      sustainedCommandsPerSec: { median: Math.round(median(sustainedRuns)), runs: sustainedRuns.map(Math.round), spreadPct: spread(sustainedRuns) },
      fixedRates: rates,
      streamLoads,
      goals: {
        sustained: { target: '>= 2000 commands/s', met: median(sustainedRuns) >= 2000 },
        p99At500: { target: '<= 25 ms', measured: at500?.latencyMs.p99, met: (at500?.latencyMs.p99 ?? Infinity) <= 25 },
      },
    };
    mkdirSync(join(repoRoot(), 'bench/results'), { recursive: true });
    writeFileSync(join(repoRoot(), 'bench/results/commands.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(JSON.stringify({ sustained: result.sustainedCommandsPerSec, fixedRates: rates }, null, 2));
  } finally {
    await client.close();
    await app.stop();
    await write.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
