/**
 * Command-side benchmark (`npm run bench:commands`), against the running command service built
 * from this repo (the image's command, as e2e tests start it) on the servers @cqrs/testing resolves:
 *   - sustained commands/s: a closed loop of concurrent clients creating and starting tasks;
 *   - latency p50/p95/p99 at fixed offered rates (200, 500, 1000/s), open loop: each request is
 *     timed from when it was *scheduled*, so a server that falls behind shows it (no coordinated omission);
 *   - stream loads with and without snapshots, from bench/results/event-store.json (bench:event-store
 *     runs first in the same npm script).
 * Writes bench/results/commands.json. Several runs per figure; the median and the spread are reported.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { getTestInfra, registerSchemas, repoRoot, startApp } from '@cqrs/testing';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const RATES = [200, 500, 1000];
const CONCURRENCY = 64;

interface Sample { latencies: number[]; errors: number; ok: number; seconds: number }

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const spread = (values: number[]) => (values.length ? Math.round(((Math.max(...values) - Math.min(...values)) / median(values)) * 1000) / 10 : NaN);

async function command(base: string, i: number): Promise<boolean> {
  // alternate creates and starts so both new and existing streams are exercised
  const res = await fetch(`${base}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ownerId: `bench-${i % 50}`, title: `bench task ${i}` }),
  });
  if (res.status !== 201) return false;
  const { taskId } = (await res.json()) as { taskId: string };
  const started = await fetch(`${base}/tasks/${taskId}/start`, { method: 'POST' });
  await started.arrayBuffer();
  return started.status === 200;
}

/** Closed loop: as fast as CONCURRENCY clients can go; each iteration is two commands. */
async function sustained(base: string): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let commands = 0;
  let i = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) if (await command(base, i++)) commands += 2;
    }),
  );
  return commands / SECONDS;
}

/** Open loop at `rate` commands/s (rate/2 create+start pairs), latency per command from its scheduled time. */
async function fixedRate(base: string, rate: number): Promise<Sample> {
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
        const create = await fetch(`${base}/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ownerId: `rate-${n % 50}`, title: `rate task ${n}` }),
        }).catch(() => undefined);
        const created = performance.now();
        sample.latencies.push(created - scheduled);
        if (create?.status !== 201) return void sample.errors++;
        sample.ok++;
        const { taskId } = (await create.json()) as { taskId: string };
        const res = await fetch(`${base}/tasks/${taskId}/start`, { method: 'POST' }).catch(() => undefined);
        sample.latencies.push(performance.now() - created);
        if (res?.status === 200) sample.ok++;
        else sample.errors++;
        await res?.arrayBuffer();
      })(),
    );
  }
  await Promise.all(inFlight);
  return sample;
}

async function main() {
  const infra = await getTestInfra();
  await registerSchemas(infra.schemaRegistry.url);
  const app = await startApp('command-service', {
    DATABASE_URL: infra.postgres.writeUrl,
    SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
    DATABASE_POOL_SIZE: '20',
    LOG_LEVEL: 'warn',
  });
  try {
    await sustained(app.url); // warm-up: JIT, pools, schema ids
    const sustainedRuns: number[] = [];
    for (let r = 0; r < RUNS; r++) sustainedRuns.push(await sustained(app.url));

    const rates = [];
    for (const rate of RATES) {
      const runs = [];
      for (let r = 0; r < RUNS; r++) {
        const s = await fixedRate(app.url, rate);
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
    const streamLoads = existsSync(storeFile) ? (JSON.parse(readFileSync(storeFile, 'utf8')) as Record<string, unknown>)['loads'] ?? null : null;
    const at500 = rates.find((r) => r.offeredPerSec === 500);
    const result = {
      benchmark: 'commands',
      description: 'Command service over HTTP (built app, node --import instrumentation.js main.js, tracing off) on the local stack. Sustained = closed loop of 64 clients; fixed rates = open loop, latency from scheduled send time. Median of runs.',
      generatedAt: new Date().toISOString(),
      node: process.version,
      cores: cpus().length,
      loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
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
    await app.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
