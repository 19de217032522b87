/**
 * Event-store benchmark (stream-load part of `npm run bench:commands`):
 *   - time to load (aggregate) a 1,000- and a 10,000-event Task stream, with and without a
 *     snapshot (worst case: the newest snapshot is 99 events behind the head);
 *   - throughput of handleCommand (load + decide + append + outbox, with and without an
 *     idempotency key), i.e. the command side without HTTP.
 * Runs against a throwaway database on the servers @cqrs/testing resolves; writes
 * bench/results/event-store.json.
 *
 * Run: npm run bench:event-store
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { handleCommand, hashRequest, PostgresEventStore } from '@cqrs/event-store';
import { STATE_SCHEMA_VERSION, type Task, type TaskCommand, type TaskEvent, taskDecider } from '@cqrs/tasks-domain';
import { getTestInfra, repoRoot } from '@cqrs/testing';
import { createEventStoreTestDatabase, fakeWireEncoder } from '../libs/shared/event-store/src/testing';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 30);
const WARMUP = 5;
const SNAPSHOT_EVERY = 100;
const TARGET_10K_WITH_SNAPSHOT_MS = 10;

type Store = PostgresEventStore;

async function main() {
  const infra = await getTestInfra();
  const db = await createEventStoreTestDatabase({
    adminUrl: infra.postgres.adminUrl,
    ownerUrl: infra.postgres.ownerWriteUrl,
    poolSize: 32,
  });
  try {
    const store = new PostgresEventStore(db.dataSource, { snapshotEvery: SNAPSHOT_EVERY });
    const [{ server_version: postgres }] =
      await db.dataSource.query<{ server_version: string }[]>('SHOW server_version');

    const loads = [];
    for (const length of [1_000, 10_000]) {
      const streamId = `task-${randomUUID()}`;
      await writeTaskStream(store, streamId, length);
      for (const snapshot of [false, true]) {
        const load = () =>
          store.aggregateStream<Task, TaskEvent>(streamId, {
            ...taskDecider,
            stateSchemaVersion: snapshot ? STATE_SCHEMA_VERSION : undefined,
          });
        const first = await load();
        if (first.version !== length) throw new Error(`stream has ${first.version} events, expected ${length}`);
        const timing = await measure(load);
        loads.push({ events: length, snapshot, replayedEvents: length - first.snapshotVersion, ...timing });
        console.log(
          `load ${length} events ${snapshot ? `with snapshot (replays ${length - first.snapshotVersion})` : 'full replay'}: median ${timing.medianMs} ms, p95 ${timing.p95Ms} ms`,
        );
      }
    }

    const throughput = [];
    for (const idempotency of [false, true]) {
      const run = await appendThroughput(store, { tasks: 500, commands: 6_000, concurrency: 24, idempotency });
      throughput.push(run);
      console.log(
        `handleCommand${idempotency ? ' with Idempotency-Key' : ''}: ${run.commands} commands in ${run.seconds} s = ${run.commandsPerSecond} commands/s (concurrency ${run.concurrency})`,
      );
    }

    const tenK = loads.find((l) => l.events === 10_000 && l.snapshot);
    const result = {
      benchmark: 'event-store',
      recordedAt: new Date().toISOString(),
      environment: { node: process.version, postgres, source: infra.source },
      settings: { runs: RUNS, warmup: WARMUP, snapshotEvery: SNAPSHOT_EVERY },
      streamLoad: loads,
      appendThroughput: throughput,
      targets: {
        load10kWithSnapshotMs: {
          target: TARGET_10K_WITH_SNAPSHOT_MS,
          median: tenK?.medianMs,
          pass: (tenK?.medianMs ?? Infinity) < TARGET_10K_WITH_SNAPSHOT_MS,
        },
      },
    };
    const out = join(repoRoot(), 'bench/results/event-store.json');
    mkdirSync(join(repoRoot(), 'bench/results'), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${out}`);
    if (!result.targets.load10kWithSnapshotMs.pass) process.exitCode = 1;
  } finally {
    await db.drop();
  }
}

/**
 * A Task stream of `length` events written as the command side writes them: created, then
 * updates in batches, with a snapshot every 100 events, stopped so the newest snapshot is 99
 * events behind the head (the slowest load a snapshotted stream can have).
 */
async function writeTaskStream(store: Store, streamId: string, length: number) {
  const taskId = streamId.slice('task-'.length);
  const now = (i: number) => new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();
  const created: TaskEvent = {
    type: 'TaskCreated',
    data: { taskId, ownerId: 'bench-user', title: 'Benchmark task', priority: 'NORMAL', createdAt: now(0) },
  };
  const update = (i: number): TaskEvent => ({
    type: 'TaskUpdated',
    data: {
      taskId,
      title: `Benchmark task, revision ${i}`,
      description: `Revision ${i} of a task that changes a lot.`,
      updatedAt: now(i),
    },
  });
  const snapshotAt = length - (SNAPSHOT_EVERY - 1);
  let state = taskDecider.initialState();
  let version = 0;
  const append = async (events: TaskEvent[], withSnapshot: boolean) => {
    const after = events.reduce(taskDecider.evolve, state);
    await store.appendToStream(streamId, events, {
      streamType: 'tasks.task',
      expectedVersion: version,
      snapshot: withSnapshot
        ? { stateSchemaVersion: STATE_SCHEMA_VERSION, lastSnapshotVersion: 0, state: () => after }
        : undefined,
    });
    state = after;
    version += events.length;
  };
  const batch = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, k) => (from + k === 0 ? created : update(from + k)));
  for (let from = 0; from < snapshotAt; from += 1_000) {
    const to = Math.min(from + 1_000, snapshotAt);
    await append(batch(from, to), to === snapshotAt);
  }
  await append(batch(snapshotAt, length), false);
}

async function measure(fn: () => Promise<unknown>) {
  for (let i = 0; i < WARMUP; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => round(samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]);
  return { medianMs: at(0.5), p95Ms: at(0.95), minMs: round(samples[0]), maxMs: round(samples[samples.length - 1]) };
}

async function appendThroughput(
  store: Store,
  {
    tasks,
    commands,
    concurrency,
    idempotency,
  }: { tasks: number; commands: number; concurrency: number; idempotency: boolean },
) {
  const ids = Array.from({ length: tasks }, () => randomUUID());
  const outbox = { aggregateType: 'tasks.task', encode: fakeWireEncoder() };
  const run = (taskId: string, command: TaskCommand) =>
    handleCommand(store, {
      streamId: `task-${taskId}`,
      streamType: 'tasks.task',
      decider: taskDecider,
      stateSchemaVersion: STATE_SCHEMA_VERSION,
      command,
      outbox: { ...outbox, aggregateId: taskId },
      idempotency: idempotency ? { scope: 'bench', key: randomUUID(), requestHash: hashRequest(command) } : undefined,
      metadata: { correlationId: randomUUID() },
      conflictRetries: 10,
    });
  const meta = () => ({ now: new Date().toISOString(), actor: 'bench' });
  await Promise.all(
    ids.map((taskId) =>
      run(taskId, {
        type: 'CreateTask',
        data: { taskId, ownerId: 'bench', title: 'Throughput task' },
        metadata: meta(),
      }),
    ),
  );
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < commands) {
        const i = next++;
        const taskId = ids[i % tasks];
        await run(taskId, { type: 'UpdateTask', data: { taskId, title: `Throughput task ${i}` }, metadata: meta() });
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return {
    idempotency,
    commands,
    concurrency,
    streams: tasks,
    seconds: round(seconds),
    commandsPerSecond: Math.round(commands / seconds),
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
