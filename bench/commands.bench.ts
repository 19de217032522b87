/**
 * Command-side benchmark (`npm run bench:commands`), against the running command service built
 * from this repo (the image's command, as e2e tests start it) on the servers @cqrs/testing resolves:
 *   - sustained commands/s: a closed loop of concurrent clients creating and starting tasks;
 *   - latency p50/p95/p99 at fixed offered rates (200, 500, 1000/s), open loop: each request is
 *     timed from when it was *scheduled*, so a server that falls behind shows it (no coordinated omission);
 *   - stream loads with and without snapshots, from bench/results/event-store.json (bench:event-store
 *     runs first in the same npm script).
 *   - what checking bearer tokens costs: every request carries one (as in production); the runs
 *     alternate between the default service (a verified token is remembered until it expires) and
 *     one that checks the signature of every request (AUTH_TOKEN_CACHE_SIZE=0); and the CPU time
 *     of one check, measured here with the service's own TokenVerifier, is set against the
 *     service's CPU time per command (from /proc), which is what bounds its throughput.
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
import { TokenVerifier } from '@cqrs/http';
import {
  createThrowawayDatabase,
  devToken,
  getTestInfra,
  registerSchemas,
  repoRoot,
  startApp,
  type AppProcess,
} from '@cqrs/testing';
import { Pool } from 'undici';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const RATES = [200, 500, 1000];
const CONCURRENCY = 64;

interface Sample {
  latencies: number[];
  errors: number;
  ok: number;
  seconds: number;
}

const cpuTotal = (usage: NodeJS.CpuUsage) => usage.user + usage.system;
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const spread = (values: number[]) =>
  values.length ? Math.round(((Math.max(...values) - Math.min(...values)) / median(values)) * 1000) / 10 : NaN;

// One user, one token, reused by every request (as a real client reuses its access token).
let AUTH: { authorization: string } = { authorization: '' };
let JSON_HEADERS = { 'content-type': 'application/json', ...AUTH };

/** POST /tasks; the new task's id, or undefined when it was not a 201. */
async function createTask(client: Pool, title: string): Promise<string | undefined> {
  const res = await client.request({
    path: '/tasks',
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ title }),
  });
  if (res.statusCode !== 201) {
    await res.body.dump();
    return undefined;
  }
  return ((await res.body.json()) as { taskId: string }).taskId;
}

async function startTask(client: Pool, taskId: string): Promise<boolean> {
  const res = await client.request({ path: `/tasks/${taskId}/start`, method: 'POST', headers: AUTH });
  await res.body.dump();
  return res.statusCode === 200;
}

async function command(client: Pool, i: number): Promise<boolean> {
  // alternate creates and starts so both new and existing streams are exercised
  const taskId = await createTask(client, `bench task ${i}`);
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
        const taskId = await createTask(client, `rate task ${n}`).catch(() => undefined);
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

/** CPU time (user + system) a process has used so far, in µs, from /proc/<pid>/stat. */
function processCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** Sustained commands/s, and the service's CPU µs per command over the run. */
async function sustainedWithCpu(client: Pool, app: AppProcess): Promise<{ perSec: number; cpuUsPerCommand: number }> {
  const pid = app.process.pid ?? 0;
  const before = processCpuUs(pid);
  const perSec = await sustained(client);
  return { perSec, cpuUsPerCommand: (processCpuUs(pid) - before) / (perSec * SECONDS) };
}

/** Median µs of one `verify` of a bearer header, with the service's verifier and settings. */
async function verifyCostUs(cacheSize: number, header: string, iterations: number): Promise<number> {
  const { oidc } = await getTestInfra();
  const verifier = new TokenVerifier({
    issuer: oidc.issuerUrl,
    audience: oidc.audience,
    algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    clockToleranceS: 30,
    rolesClaim: 'roles',
    adminRole: 'admin',
    cacheSize,
    production: false,
  });
  await verifier.verify(header); // keys fetched, JIT warm
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) await verifier.verify(header);
    rounds.push(((performance.now() - start) * 1000) / iterations);
  }
  return median(rounds);
}

async function main() {
  const infra = await getTestInfra();
  await registerSchemas(infra.schemaRegistry.url);
  const token = await devToken('bench-user');
  AUTH = { authorization: `Bearer ${token}` };
  JSON_HEADERS = { 'content-type': 'application/json', ...AUTH };
  // A write database of its own: the stack's cqrs_write feeds `npm start`'s relay slot, which would
  // otherwise retain (and later publish) every benchmark command.
  const write = await createThrowawayDatabase(infra.postgres.adminUrl, 'bench_write');
  await migrateEventStore(write.url);
  const env = {
    DATABASE_URL: write.url,
    SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
    DATABASE_POOL_SIZE: '20',
    LOG_LEVEL: 'warn',
    // Rate limiting off by its setting: one benchmark user sends thousands of commands a second.
    RATE_LIMIT_REQUESTS: '0',
  };
  const app = await startApp('command-service', env);
  // The same service checking the signature of every request: what the token cache saves.
  const uncachedApp = await startApp('command-service', { ...env, AUTH_TOKEN_CACHE_SIZE: '0' });
  // One connection per concurrent client; the fixed-rate runs open more as they need them.
  const client = new Pool(app.url, { connections: CONCURRENCY * 4 });
  const uncachedClient = new Pool(uncachedApp.url, { connections: CONCURRENCY });
  const clientCpu = process.cpuUsage();
  const started = performance.now();
  try {
    await sustained(client); // warm-up: JIT, pools, schema ids
    await sustained(uncachedClient);
    const sustainedRuns: number[] = [];
    const cpuPerCommand: number[] = [];
    const uncachedRuns: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const run = await sustainedWithCpu(client, app);
      sustainedRuns.push(run.perSec);
      cpuPerCommand.push(run.cpuUsPerCommand);
      uncachedRuns.push(await sustained(uncachedClient));
    }
    await uncachedClient.close();
    await uncachedApp.stop();
    const checkCachedUs = await verifyCostUs(10_000, AUTH.authorization, 20_000);
    const checkUncachedUs = await verifyCostUs(0, AUTH.authorization, 2_000);
    const serviceCpuUs = median(cpuPerCommand);

    const rates = [];
    for (const rate of RATES) {
      const runs = [];
      for (let r = 0; r < RUNS; r++) {
        const s = await fixedRate(client, rate);
        const sorted = [...s.latencies].sort((a, b) => a - b);
        runs.push({
          p50: percentile(sorted, 0.5),
          p95: percentile(sorted, 0.95),
          p99: percentile(sorted, 0.99),
          achieved: s.ok / s.seconds,
          errors: s.errors,
        });
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
    const streamLoads = existsSync(storeFile)
      ? ((JSON.parse(readFileSync(storeFile, 'utf8')) as Record<string, unknown>)['streamLoad'] ?? null)
      : null;
    const at500 = rates.find((r) => r.offeredPerSec === 500);
    const result = {
      benchmark: 'commands',
      description:
        'Command service over HTTP (built app, node --import instrumentation.js main.js, OpenTelemetry exporting nothing, so not started; every request with a bearer token, rate limiting off; defaults otherwise: aggregate cache, group commit with 4 appends in flight, DATABASE_POOL_SIZE 20) on the local stack, load generator (undici Pool) on the same 2 cores. Sustained = closed loop of 64 clients; fixed rates = open loop, latency from scheduled send time. Median of runs.',
      generatedAt: new Date().toISOString(),
      node: process.version,
      cores: cpus().length,
      loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
      loadGeneratorCpuPctOfOneCore: Math.round(
        (cpuTotal(process.cpuUsage(clientCpu)) / 1000 / (performance.now() - started)) * 100,
      ),
      runs: RUNS,
      secondsPerRun: SECONDS,
      sustainedCommandsPerSec: {
        median: Math.round(median(sustainedRuns)),
        runs: sustainedRuns.map(Math.round),
        spreadPct: spread(sustainedRuns),
      },
      tokenChecking: {
        description:
          'Every command carries a bearer token (RS256, from the development issuer). serviceCpuUsPerCommand: the command service process CPU per command in the sustained runs. checkUs: the wall time of one TokenVerifier.verify of the same header in this process, one after another, median of 5 rounds (cached: the token was verified before; uncached: signature and claims checked every time, WebCrypto on the libuv pool, so this is an upper bound of its CPU). costPct = checkUs / serviceCpuUsPerCommand: an upper bound of the share of the service CPU, which bounds its throughput. uncachedSustained: the same runs, interleaved, against a service with AUTH_TOKEN_CACHE_SIZE=0.',
        serviceCpuUsPerCommand: Math.round(serviceCpuUs),
        checkUs: { cached: Math.round(checkCachedUs * 100) / 100, uncached: Math.round(checkUncachedUs * 10) / 10 },
        costPct: {
          cached: Math.round((checkCachedUs / serviceCpuUs) * 1000) / 10,
          uncached: Math.round((checkUncachedUs / serviceCpuUs) * 1000) / 10,
        },
        uncachedSustainedCommandsPerSec: {
          median: Math.round(median(uncachedRuns)),
          runs: uncachedRuns.map(Math.round),
          spreadPct: spread(uncachedRuns),
        },
      },
      fixedRates: rates,
      streamLoads,
      goals: {
        sustained: { target: '>= 2000 commands/s', met: median(sustainedRuns) >= 2000 },
        p99At500: { target: '<= 25 ms', measured: at500?.latencyMs.p99, met: (at500?.latencyMs.p99 ?? Infinity) <= 25 },
        tokenChecking: {
          target: '< 5% of throughput',
          measuredPct: Math.round((checkCachedUs / serviceCpuUs) * 1000) / 10,
          met: checkCachedUs / serviceCpuUs < 0.05,
        },
      },
    };
    mkdirSync(join(repoRoot(), 'bench/results'), { recursive: true });
    writeFileSync(join(repoRoot(), 'bench/results/commands.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(
      JSON.stringify(
        { sustained: result.sustainedCommandsPerSec, tokenChecking: result.tokenChecking, fixedRates: rates },
        null,
        2,
      ),
    );
  } finally {
    await client.close();
    await uncachedClient.close().catch(() => undefined);
    await app.stop();
    await uncachedApp.stop();
    await write.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
