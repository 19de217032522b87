/**
 * Archiving benchmark (`npm run bench:archive`): what moving cold streams out of the hot `events`
 * table buys. A throwaway event store is filled (as SQL, fast) with BENCH_TASKS tasks of 5 events
 * each; BENCH_COLD_SHARE of them finished (completed or abandoned) 60 days ago, the rest are still
 * open and recent. Then `archive --older-than 30d` runs, and the benchmark reports, before and
 * after: the hot table's size with its indexes (after the archive, once as left by the DELETE and
 * once compacted by VACUUM FULL, what a table rewritten by pg_repack would be), the archive's size,
 * how long the archive took, and the median time to load a hot and an archived stream.
 *
 * Writes bench/results/archive.json. Knobs: BENCH_TASKS (200000), BENCH_COLD_SHARE (0.8),
 * BENCH_LOADS (200).
 */
import { PostgresEventStore } from '@cqrs/event-store';
import {
  initialState,
  evolve,
  STATE_SCHEMA_VERSION,
  TASK_TERMINAL_EVENT_TYPES,
  taskUpcasters,
  type Task,
  type TaskEvent,
} from '@cqrs/tasks-domain';
import { getTestInfra, repoRoot } from '@cqrs/testing';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createEventStoreTestDatabase } from '../libs/shared/event-store/src/testing';

const TASKS = Number(process.env['BENCH_TASKS'] ?? 200_000);
const COLD_SHARE = Number(process.env['BENCH_COLD_SHARE'] ?? 0.8);
const LOADS = Number(process.env['BENCH_LOADS'] ?? 200);
const DAY_MS = 86_400_000;

const log = (message: string) => console.log(`[bench:archive] ${message}`);
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

// Task i: created, updated, started, updated, then completed (even i) or abandoned (odd i) when
// cold; open tasks end with their second update. Cold tasks are 60 days old, open ones 1 day.
const FILL = `
  INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version, data, recorded_at)
  SELECT gen_random_uuid(), 'task-' || t.i, 'tasks.task', s.v,
         CASE s.v WHEN 1 THEN 'TaskCreated' WHEN 2 THEN 'TaskUpdated' WHEN 3 THEN 'TaskStarted' WHEN 4 THEN 'TaskUpdated'
                  ELSE CASE WHEN t.i % 2 = 0 THEN 'TaskCompleted' ELSE 'TaskAbandoned' END END,
         CASE s.v WHEN 1 THEN 2 ELSE 1 END,
         CASE s.v
           WHEN 1 THEN jsonb_build_object('taskId', 'task-' || t.i, 'ownerId', 'owner-' || (t.i % 10000), 'title', 'Task ' || t.i,
                                          'description', repeat('d', 200), 'priority', 'NORMAL', 'createdAt', to_char(t.at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
           WHEN 2 THEN jsonb_build_object('taskId', 'task-' || t.i, 'title', 'Task ' || t.i || ' (renamed)', 'updatedAt', to_char(t.at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
           WHEN 3 THEN jsonb_build_object('taskId', 'task-' || t.i, 'startedAt', to_char(t.at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
           WHEN 4 THEN jsonb_build_object('taskId', 'task-' || t.i, 'description', repeat('e', 200), 'updatedAt', to_char(t.at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
           ELSE CASE WHEN t.i % 2 = 0 THEN jsonb_build_object('taskId', 'task-' || t.i, 'completedAt', to_char(t.at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
                     ELSE jsonb_build_object('taskId', 'task-' || t.i, 'reason', 'no longer needed', 'abandonedAt', to_char(t.at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) END
         END,
         t.at
  FROM (SELECT i, CASE WHEN i < $2 THEN now() - interval '60 days' ELSE now() - interval '1 day' END AS at
        FROM generate_series($1::int, $3::int - 1) AS i) t
  CROSS JOIN generate_series(1, 5) AS s(v)
  WHERE t.i < $2 OR s.v <= 4
  ORDER BY t.i, s.v`;

async function main() {
  const infra = await getTestInfra();
  const db = await createEventStoreTestDatabase({
    adminUrl: infra.postgres.adminUrl,
    ownerUrl: infra.postgres.ownerWriteUrl,
    poolSize: 4,
  });
  const loadBefore = loadavg();
  try {
    const store = new PostgresEventStore(db.dataSource, { upcasters: taskUpcasters });
    const cold = Math.round(TASKS * COLD_SHARE);
    const filled = performance.now();
    for (let first = 0; first < TASKS; first += 50_000) {
      await db.dataSource.query(FILL, [first, cold, Math.min(TASKS, first + 50_000)]);
    }
    await db.dataSource.query('VACUUM ANALYZE events');
    const [{ n: events }] = await db.dataSource.query<{ n: string }[]>('SELECT count(*) AS n FROM events');
    log(
      `filled ${events} events of ${TASKS} tasks (${cold} cold) in ${Math.round((performance.now() - filled) / 1000)} s`,
    );

    const loadTimes = async (ids: string[]) => {
      const times: number[] = [];
      for (const id of ids) {
        const started = performance.now();
        const result = await store.aggregateStream<Task, TaskEvent>(id, {
          evolve,
          initialState,
          stateSchemaVersion: STATE_SCHEMA_VERSION,
        });
        times.push(performance.now() - started);
        if (result.version === 0) throw new Error(`stream ${id} loaded empty`);
      }
      return Math.round(median(times) * 1000) / 1000;
    };
    const pick = (from: number, to: number) =>
      Array.from({ length: LOADS }, () => `task-${from + Math.floor(Math.random() * (to - from))}`);
    const hotIds = pick(cold, TASKS);
    const coldIds = pick(0, cold);
    await loadTimes(hotIds.slice(0, 20)); // warm the pool and the prepared statements

    const before = await store.size();
    const loadsBefore = { hotMs: await loadTimes(hotIds), coldMs: await loadTimes(coldIds) };
    log(
      `before: events ${mb(before.events.bytes)} MB; load hot ${loadsBefore.hotMs} ms, cold ${loadsBefore.coldMs} ms`,
    );

    const archiveStarted = performance.now();
    const archived = await store.archiveStreams({
      olderThanMs: 30 * DAY_MS,
      terminalEventTypes: TASK_TERMINAL_EVENT_TYPES,
      batchSize: 1000,
    });
    const archiveSeconds = Math.round((performance.now() - archiveStarted) / 100) / 10;
    if (archived.streams !== cold) throw new Error(`archived ${archived.streams} streams, expected ${cold}`);
    await db.dataSource.query('VACUUM ANALYZE events');
    await db.dataSource.query('VACUUM ANALYZE events_archive');
    const afterDelete = await store.size();
    await db.dataSource.query('VACUUM FULL events');
    await db.dataSource.query('ANALYZE events');
    const afterCompaction = await store.size();
    const loadsAfter = { hotMs: await loadTimes(hotIds), coldMs: await loadTimes(coldIds) };
    log(
      `archived ${archived.streams} streams (${archived.events} events) in ${archiveSeconds} s; events ${mb(afterDelete.events.bytes)} MB as left, ` +
        `${mb(afterCompaction.events.bytes)} MB compacted; archive ${mb(afterCompaction.eventsArchive.bytes)} MB; load hot ${loadsAfter.hotMs} ms, cold ${loadsAfter.coldMs} ms`,
    );

    const result = {
      benchmark: 'archive',
      recordedAt: new Date().toISOString(),
      environment: {
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        loadAverageAtStart: loadBefore,
        loadAverageAtEnd: loadavg(),
      },
      settings: {
        tasks: TASKS,
        coldShare: COLD_SHARE,
        events: Number(events),
        olderThanDays: 30,
        loadsMeasured: LOADS,
      },
      definitions: {
        hotTableBytes: 'pg_total_relation_size(events): heap, indexes and TOAST',
        afterArchive: 'after the archive and a plain VACUUM: the space is reusable by new events but still allocated',
        afterCompaction: 'after VACUUM FULL (or pg_repack): the hot table rewritten',
        loadMs: 'median aggregateStream of LOADS random streams (hot: open tasks; cold: archived tasks)',
      },
      archive: {
        streams: archived.streams,
        events: archived.events,
        batches: archived.batches,
        seconds: archiveSeconds,
      },
      hotTableBytes: {
        before: before.events.bytes,
        afterArchive: afterDelete.events.bytes,
        afterCompaction: afterCompaction.events.bytes,
      },
      archiveTableBytes: afterCompaction.eventsArchive.bytes,
      hotTableShrink: Math.round((1 - afterCompaction.events.bytes / before.events.bytes) * 1000) / 1000,
      loads: { before: loadsBefore, after: loadsAfter },
    };
    const dir = join(repoRoot(), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'archive.json'), `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote bench/results/archive.json`);
  } finally {
    await db.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
