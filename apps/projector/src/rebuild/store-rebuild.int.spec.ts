import { migrateEventStore } from '@cqrs/event-store';
import { createThrowawayDatabase, type ThrowawayDatabase } from '@cqrs/event-store/testing';
import { metricsRegistry } from '@cqrs/observability';
import type { TaskEvent } from '@cqrs/tasks-domain';
import { listGenerations, RebuildProgressStore, TaskReadRepository } from '@cqrs/tasks-read-model';
import { eventually, getTestInfra, withClient } from '@cqrs/testing';
import type { Admin } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { TaskTopic, taskEventsFor } from '../../e2e/support/task-topic';
import type { ProjectionRunner } from '../projection/projection-runner';
import { OperationError, ProjectorOperations, type RebuildProgress } from '../projection/projector-operations';
import { startProjectorFixture, type ProjectorFixture } from '../testing/projector-fixture';

// Rebuilds from the event store on real PostgreSQL, Kafka and the registry, with the projector
// running in-process: the store holds history the topic no longer has, events keep arriving
// during the rebuild, and the read model must come out equal to a fold of the store.
describe('rebuild from the event store, then Kafka', () => {
  const run = randomUUID().slice(0, 8);
  let writeDb: ThrowawayDatabase;
  let storePool: Pool;
  let fixture: ProjectorFixture;
  let pool: Pool;
  let queryPool: Pool;
  let admin: Admin;
  let topic: TaskTopic;
  let runner: ProjectionRunner;
  let operations: ProjectorOperations;
  let reader: TaskReadRepository;
  /** Stored events (the source of truth), per task in version order, as they are stored. */
  const stored = new Map<string, { type: string; schemaVersion: number; data: unknown }[]>();

  beforeAll(async () => {
    const infra = await getTestInfra();
    const projectorRole = new URL(infra.postgres.readUrl).username;
    writeDb = await createThrowawayDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerWriteUrl,
      appRoles: [projectorRole],
    });
    await migrateEventStore(writeDb.url);
    // Positions start above 1,000, leaving room for an event that takes an early position (below).
    await sql(`SELECT setval(pg_get_serial_sequence('events', 'global_position'), 1000)`);
    // The store as the projector's own role, which may only read `events` and `events_archive`.
    storePool = new Pool({ connectionString: writeDb.urlAs(infra.postgres.readUrl), max: 4 });
    fixture = await startProjectorFixture({
      name: 'store-rebuild',
      dbPrefix: 'proj_test',
      run,
      partitions: 3,
      poolSize: 8,
    });
    ({ pool, queryPool, admin, topic, runner, operations, reader } = fixture);
  });

  afterAll(async () => {
    await fixture?.close();
    await storePool?.end();
    await writeDb?.drop();
  });

  function sql(text: string, params?: unknown[]) {
    return withClient(writeDb.url, (c) => c.query(text, params));
  }

  /**
   * Commits events to the store (the next versions of their tasks), as the command side does,
   * then publishes them to Kafka (`kafka`), or not yet (`held`: returned, to publish later as a
   * lagging relay would), or never (`none`). `asStored` stores other data (an old shape).
   */
  async function commit(
    events: TaskEvent[],
    kafka: 'publish' | 'held' | 'none',
    options: { asStored?: (e: TaskEvent) => { schemaVersion: number; data: unknown }; position?: number } = {},
  ) {
    const rows = events.map((event) => {
      const history = stored.get(event.data.taskId) ?? [];
      stored.set(event.data.taskId, history);
      const shape = options.asStored?.(event) ?? {
        schemaVersion: event.type === 'TaskCreated' ? 2 : 1,
        data: event.data,
      };
      history.push({ type: event.type, ...shape });
      return { streamId: event.data.taskId, version: history.length, type: event.type, ...shape };
    });
    await sql(
      `INSERT INTO events (${options.position ? 'global_position, ' : ''}event_id, stream_id, stream_type, version, type, schema_version, data)
       ${options.position ? 'OVERRIDING SYSTEM VALUE' : ''}
       SELECT ${options.position ? `${options.position} + ord - 1, ` : ''}gen_random_uuid(), s, 'tasks.task', v, t, sv, d
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::jsonb[]) WITH ORDINALITY AS x(s, v, t, sv, d, ord) ORDER BY ord`,
      [
        rows.map((r) => r.streamId),
        rows.map((r) => r.version),
        rows.map((r) => r.type),
        rows.map((r) => r.schemaVersion),
        rows.map((r) => JSON.stringify(r.data)),
      ],
    );
    if (kafka === 'publish') {
      await topic.append(...events);
      return [];
    }
    return topic.withhold(...events);
  }

  const caughtUp = () => fixture.caughtUp(60_000);

  /** Every task and every owner's statistics equal a fold of the store; no version is applied twice. */
  const expectFoldOfTheStore = async () => {
    const owners = new Set<string>();
    for (const [id, entry] of topic.history) {
      expect(await reader.findTask(id)).toEqual(topic.replay(id));
      owners.add(entry.ownerId);
    }
    for (const owner of owners) expect(await reader.userStats(owner)).toEqual(topic.replayStats(owner));
    const applied = await queryPool.query<{ n: string }>(
      `SELECT coalesce(sum(version), 0) AS n FROM stream_checkpoints`,
    );
    const inStore = await sql(`SELECT count(*) AS n FROM events`);
    expect(Number(applied.rows[0]!.n)).toBe(Number(inStore.rows[0].n));
  };

  const gauge = async (name: string, labels: Record<string, string>) => {
    const metric = metricsRegistry.getSingleMetric(name);
    const values = metric ? (await metric.get()).values : [];
    return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
  };

  const lifecycle = (t: ReturnType<typeof taskEventsFor>, i: number): TaskEvent[] =>
    [
      [t.created(), t.started(), t.completed()],
      // Text COPY must escape (tab, newline, backslash) and JSON must quote.
      [
        t.created(),
        t.updated({ title: 'renamed\tto "this"', description: 'line one\nline \\ two' }),
        t.abandoned('too late'),
      ],
      [t.created(), t.updated({ dueDate: '2026-03-01' }), t.deleted()],
      [t.created(), t.started()],
    ][i % 4]!;

  it('rebuilds from the store what Kafka no longer has, and takes what commits after its snapshot from Kafka, nothing missing or twice', async () => {
    const owners = [`alice-${run}`, `bob-${run}`];
    const tasks = Array.from({ length: 16 }, (_, i) => taskEventsFor(randomUUID(), owners[i % 2]!));
    await commit(tasks.flatMap(lifecycle), 'publish');
    // A task created before priorities existed (TaskCreated v1, no `priority`), never on this topic.
    const legacy = taskEventsFor(randomUUID(), owners[0]!);
    await commit([legacy.created(), legacy.started()], 'none', {
      asStored: (e) =>
        e.type === 'TaskCreated'
          ? { schemaVersion: 1, data: (({ priority: _p, ...rest }) => rest)(e.data) }
          : { schemaVersion: 1, data: e.data },
    });
    await caughtUp();
    // Retention: the topic's records so far are gone; only the store has that history now.
    const ends = await admin.fetchTopicOffsets(topic.topic);
    await admin.deleteTopicRecords({
      topic: topic.topic,
      partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
    });
    expect((await admin.fetchTopicOffsets(topic.topic)).every((p) => p.low === p.high)).toBe(true);
    // Committed before the rebuild, published only after it noted the offsets (a relay lagging behind).
    const lagging = taskEventsFor(randomUUID(), owners[1]!);
    const held = await commit([lagging.created(), lagging.started()], 'held');

    // While the store is read: the lagging records arrive, and new events commit after the snapshot.
    let during: Promise<void> | undefined;
    let sawGaugeRunning: Promise<unknown> | undefined;
    const phases = new Set<string>();
    const progress: RebuildProgress[] = [];
    const later = taskEventsFor(randomUUID(), owners[0]!);
    const report = await operations.rebuild({
      source: 'store',
      eventStore: storePool,
      store: { batchSize: 5, connections: 2, flushEvents: 20 },
      maxLag: 0,
      handoffTimeoutMs: 20_000,
      onProgress: (p) => {
        phases.add(p.phase);
        progress.push(p);
        if (p.phase === 'reading-store') {
          during ??= (async () => {
            await topic.sendRaw(...held);
            await commit(
              [tasks[3]!.completed(), tasks[7]!.updated({ title: 'after the snapshot' }), later.created()],
              'publish',
            );
          })();
          sawGaugeRunning ??= eventually(
            async () => {
              expect(await gauge('cqrs_projection_rebuild_running', { source: 'store' })).toBe(1);
              expect(await gauge('cqrs_projection_rebuild_events_done', { source: 'store' })).toBeGreaterThan(0);
            },
            30_000,
            50,
          );
        }
      },
    });
    await during;
    await sawGaugeRunning;

    expect(report).toMatchObject({ generation: 2, previous: 1, source: 'store', resumed: false, handedOff: true });
    expect(report.store).toMatchObject({ events: 16 * 3 - 4 + 2 + 2, parked: 0, leftToKafka: 0 });
    expect(report.kafkaRecordsAfterSnapshot).toBe(2 + 3);
    expect(report.events).toBe(report.store!.events + 5);
    expect([...phases]).toEqual(['reading-store', 'catching-up', 'indexing', 'activating', 'handing-off']);
    const reading = progress.filter((p) => p.phase === 'reading-store' && p.eventsExpected !== null);
    expect(reading.at(-1)).toMatchObject({ eventsDone: report.store!.events, eventsExpected: report.store!.events });

    await eventually(async () => expect(runner.status()).toMatchObject({ generation: 2, running: true }));
    await caughtUp();
    await expectFoldOfTheStore();
    expect(await reader.findTask(legacy.taskId)).toMatchObject({ priority: 'NORMAL', status: 'started', version: 2 });
    expect(await reader.findTask(tasks[7]!.taskId)).toMatchObject({ title: 'after the snapshot' });

    // The progress row, and the running projector's gauges for it.
    const row = await new RebuildProgressStore(pool).latest();
    expect(row).toMatchObject({
      generation: 2,
      source: 'store',
      status: 'done',
      eventsDone: report.events,
      eventsExpected: report.events,
      eventsAtPosition: report.store!.events,
    });
    expect(row!.kafkaOffsets).toEqual(
      ends
        .map((p) => ({ topic: topic.topic, partition: p.partition, offset: p.high }))
        .sort((a, b) => a.partition - b.partition),
    );
    await eventually(async () => {
      expect(await gauge('cqrs_projection_rebuild_running', { generation: '2', source: 'store' })).toBe(0);
      expect(await gauge('cqrs_projection_rebuild_events_done', { generation: '2', source: 'store' })).toBe(
        report.events,
      );
      expect(await gauge('cqrs_projection_rebuild_store_position', { generation: '2', source: 'store' })).toBe(
        row!.storePosition,
      );
    });
  });

  it('resumes an interrupted rebuild into the same generation from its store position; what the new snapshot has ahead of a stream comes from Kafka', async () => {
    const owner = `carol-${run}`;
    const tasks = Array.from({ length: 24 }, () => taskEventsFor(randomUUID(), owner));
    await commit(tasks.flatMap(lifecycle), 'publish');
    await caughtUp();
    await expect(operations.rebuild({ resume: true, eventStore: storePool })).rejects.toThrow('no interrupted rebuild');

    const abort = new AbortController();
    const interrupted = operations.rebuild({
      eventStore: storePool,
      store: { batchSize: 10, connections: 1, flushEvents: 20, progressEveryMs: 0 },
      maxLag: 0,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.phase === 'reading-store' && p.eventsDone >= 60) abort.abort();
      },
    });
    await expect(interrupted).rejects.toThrow(OperationError);
    await expect(interrupted).rejects.toThrow('projector rebuild --resume');
    const row = (await new RebuildProgressStore(pool).latest())!;
    expect(row).toMatchObject({ generation: 3, source: 'store', status: 'interrupted', phase: 'reading-store' });
    expect(row.storePosition).toBeGreaterThan(1000);
    expect(row.eventsAtPosition).toBeGreaterThanOrEqual(60);
    expect((await listGenerations(pool)).find((g) => g.generation === 3)).toMatchObject({ status: 'building' });
    // A rebuild already running elsewhere (reported a moment ago) is not started over.
    await pool.query(`UPDATE projection_rebuilds SET status = 'running', updated_at = now() WHERE id = $1`, [row.id]);
    await expect(operations.rebuild({ resume: true, eventStore: storePool })).rejects.toThrow('is being rebuilt by');
    await pool.query(`UPDATE projection_rebuilds SET status = 'interrupted' WHERE id = $1`, [row.id]);

    // Meanwhile a task moves on: its next event commits late with an early position (below the
    // recorded one, as a transaction that took its position before others and committed after
    // them), so the resumed snapshot has the event after it, ahead of its stream: Kafka has both.
    const moving = tasks[3]!; // created, started
    await commit([moving.updated({ title: 'late' })], 'publish', { position: 500 });
    await commit([moving.completed()], 'publish');
    const fresh = taskEventsFor(randomUUID(), owner);
    await commit([fresh.created(), fresh.started()], 'publish');

    const report = await operations.rebuild({
      resume: true,
      eventStore: storePool,
      store: { batchSize: 10, flushEvents: 20 },
      maxLag: 0,
      handoffTimeoutMs: 20_000,
    });
    expect(report).toMatchObject({ generation: 3, previous: 2, source: 'store', resumed: true, handedOff: true });
    expect(report.store).toMatchObject({ leftToKafka: 1, parked: 0 });
    expect(report.store!.eventsDone).toBe(
      Number((await sql(`SELECT count(*) AS n FROM events WHERE global_position <> 500`)).rows[0].n),
    );
    await eventually(async () => expect(runner.status()).toMatchObject({ generation: 3, running: true }));
    await caughtUp();
    await expectFoldOfTheStore();
    expect(await reader.findTask(moving.taskId)).toMatchObject({ title: 'late', status: 'completed', version: 4 });
    expect(await new RebuildProgressStore(pool).latest()).toMatchObject({ generation: 3, status: 'done', resumes: 1 });
  });
});
