import { AvroSerde, createSchemaRegistry, createKafka } from '@cqrs/messaging';
import { CQRS_METRICS, type CqrsMetricName } from '@cqrs/observability';
import { tasksTaskEventsContracts, tasksTaskEventsTopic } from '@cqrs/tasks-contracts';
import { getTestInfra, otlpEnv, startOtlpReceiver, type OtlpReceiver } from '@cqrs/testing';
import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { APP_NAMES, eventually, startSystem, type AppName, type Caller, type RunningSystem } from './support/system';

/** One sample of the Prometheus text format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition: `# TYPE` lines and samples (label values without escapes, as ours are). */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) continue;
    const labels = Object.fromEntries([...(sample[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { types, samples };
}

// The built apps after real traffic: every catalogued metric is on the /metrics of the app that
// emits it, with exactly its declared labels, and the counters moved by what the traffic did.
describe('/metrics of every app after traffic', () => {
  let system: RunningSystem;
  let producer: Producer;
  const scraped = {} as Record<AppName, ReturnType<typeof parseExposition>>;
  const creates = 5;
  const racers = 6;
  let racersOk = 0;
  let gapTraceparent = '';
  let kafka: Kafka;
  let receiver: OtlpReceiver;
  const owner = `metrics-${randomUUID()}`;
  let user: Caller;

  const scrape = async (app: AppName) => {
    const response = await fetch(`${system.apps[app].managementUrl}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return parseExposition(await response.text());
  };
  /** Sum of the samples of `series` whose labels include `match`. */
  const sum = (app: AppName, series: string, match: Record<string, string> = {}) =>
    scraped[app].samples
      .filter((s) => s.name === series && Object.entries(match).every(([k, v]) => s.labels[k] === v))
      .reduce((total, s) => total + s.value, 0);

  beforeAll(async () => {
    const infra = await getTestInfra();
    // Traces exported, as in production: the instrumentations are live around every metric.
    receiver = await startOtlpReceiver();
    system = await startSystem({
      env: { ...otlpEnv(receiver), LOG_LEVEL: 'warn' },
      perApp: {
        // No aggregate cache: every command on an existing task loads it, so loads from a snapshot and from the start both happen.
        'command-service': { SNAPSHOT_EVERY: '2', AGGREGATE_CACHE_SIZE: '0' },
        // A gap is retried once, then parked (and dead-lettered): retries, DLQ and parking in one record.
        projector: { PROJECTOR_GAP_RETRIES: '1', PROJECTOR_RETRY_MIN_MS: '50', PROJECTOR_RETRY_MAX_MS: '200' },
      },
    });

    user = system.as(owner);
    // Commands: creates, updates (snapshots every 2 events), a race, a rejection, a stale If-Match.
    const tasks = [];
    for (let i = 0; i < creates; i++) tasks.push(await user.command('POST', '/tasks', { title: `metrics ${i}` }));
    const [first, second] = tasks as [{ taskId: string; version: number }, { taskId: string; version: number }];
    await user.command('PATCH', `/tasks/${first.taskId}`, { description: 'snapshot due at version 2' });
    await user.command('POST', `/tasks/${first.taskId}/start`); // loads from the snapshot
    // Without If-Match a lost race is retried on fresh state (a few times, then 409): some conflict.
    const raced = await Promise.allSettled(
      Array.from({ length: racers }, (_, i) =>
        user.command('PATCH', `/tasks/${second.taskId}`, { description: `racer ${i}` }),
      ),
    );
    racersOk = raced.filter((r) => r.status === 'fulfilled').length;
    await expect(user.command('POST', `/tasks/${randomUUID()}/start`)).rejects.toThrow('404');
    await expect(
      user.command('PATCH', `/tasks/${first.taskId}`, { description: 'stale' }, { 'if-match': '"1"' }),
    ).rejects.toThrow('412');

    // Queries: a miss, then a hit, on each of the first tasks (after read-your-writes made them visible).
    for (const t of tasks) expect((await user.query(`/tasks/${t.taskId}`, { 'X-Min-Version': '1' })).status).toBe(200);
    for (const t of tasks) {
      await user.query(`/tasks/${t.taskId}`);
      await user.query(`/tasks/${t.taskId}`);
    }

    // Records on the topic the relay feeds: a redelivery of an applied event, and an event ahead of its stream.
    kafka = createKafka({ clientId: 'metrics-e2e', ...infra.kafka });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const serde = new AvroSerde({
      registry: createSchemaRegistry(infra.schemaRegistry),
      contracts: tasksTaskEventsContracts,
    });
    const event = (taskId: string, version: number) => ({
      eventId: randomUUID(),
      aggregateId: taskId,
      aggregateVersion: version,
      occurredAt: Date.now(),
      correlationId: null,
      causationId: null,
    });
    const created = {
      ...event(first.taskId, 1),
      ownerId: owner,
      title: 'metrics 0',
      description: null,
      dueDate: null,
      priority: 'NORMAL' as const,
    };
    const gapTask = randomUUID();
    gapTraceparent = `00-${randomUUID().replace(/-/g, '')}-${randomUUID().replace(/-/g, '').slice(0, 16)}-01`;
    await producer.send({
      topic: system.topic,
      acks: -1,
      messages: [
        {
          key: first.taskId,
          value: await serde.encode(tasksTaskEventsTopic, 'TaskCreated', created),
          headers: { eventType: 'TaskCreated', aggregateVersion: '1' },
        },
        {
          key: gapTask,
          value: await serde.encode(tasksTaskEventsTopic, 'TaskStarted', event(gapTask, 3)),
          headers: { eventType: 'TaskStarted', aggregateVersion: '3', traceparent: gapTraceparent },
        },
      ],
    });

    await eventually(
      async () => {
        for (const app of APP_NAMES) scraped[app] = await scrape(app);
        expect(sum('projector', 'cqrs_dlq_messages_total')).toBeGreaterThan(0);
        expect(sum('projector', 'cqrs_duplicate_events_total')).toBeGreaterThan(0);
        // the projects context's cross-context projection follows the same topic, at its own pace
        expect(
          sum('projector', 'cqrs_events_processed_total', { projection: 'projects-task-progress', status: 'parked' }),
        ).toBe(1);
        expect(sum('projector', 'cqrs_consumer_lag_messages')).toBe(0);
      },
      60_000,
      500,
    );
  });

  afterAll(async () => {
    await producer?.disconnect();
    await system?.stop();
    await receiver?.close();
  });

  describe.each(APP_NAMES)('%s', (app) => {
    const own = Object.entries(CQRS_METRICS).filter(([, def]) => def.emittedBy === app) as [
      CqrsMetricName,
      (typeof CQRS_METRICS)[CqrsMetricName],
    ][];

    it('serves its catalogued metrics with their declared type and exactly their labels', () => {
      expect(own.length).toBeGreaterThan(0);
      for (const [name, def] of own) {
        expect([name, scraped[app].types.get(name)]).toEqual([name, def.kind]);
        const series = scraped[app].samples.filter((s) => s.name === name || s.name.startsWith(`${name}_`));
        expect([name, series.length > 0]).toEqual([name, true]);
        for (const s of series) {
          const expected = [...def.labels, ...(s.name.endsWith('_bucket') ? ['le'] : [])].sort();
          expect([s.name, Object.keys(s.labels).sort()]).toEqual([s.name, expected]);
        }
      }
    });

    it("serves Node's process metrics too", () => {
      expect(sum(app, 'process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(scraped[app].types.get('nodejs_eventloop_lag_p99_seconds')).toBe('gauge');
    });
  });

  it('command-service: commands by type and outcome, their timings, and the event store', () => {
    expect(sum('command-service', 'cqrs_command_total', { type: 'CreateTask', status: 'ok' })).toBe(creates);
    expect(sum('command-service', 'cqrs_command_duration_ms_count', { type: 'CreateTask' })).toBe(creates);
    expect(sum('command-service', 'cqrs_command_total', { type: 'UpdateTask', status: 'ok' })).toBe(1 + racersOk);
    expect(sum('command-service', 'cqrs_command_total', { type: 'UpdateTask', status: 'CONCURRENCY_CONFLICT' })).toBe(
      racers - racersOk,
    );
    expect(sum('command-service', 'cqrs_command_total', { type: 'StartTask', status: 'TASK_NOT_FOUND' })).toBe(1);
    expect(sum('command-service', 'cqrs_command_total', { type: 'UpdateTask', status: 'VERSION_MISMATCH' })).toBe(1);
    expect(sum('command-service', 'cqrs_command_total', { status: 'error' })).toBe(0);
    expect(sum('command-service', 'event_store_conflicts_total', { stream_type: 'tasks.task' })).toBeGreaterThan(0);
    expect(sum('command-service', 'event_snapshots_created_total', { stream_type: 'tasks.task' })).toBeGreaterThan(0);
    // Creates load nothing (a server-generated id is a new stream); the first PATCH (version 1, no
    // snapshot yet) and the 404 load from the start, the start after the snapshot loads from it.
    expect(
      sum('command-service', 'event_replay_duration_seconds_count', { from_snapshot: 'false' }),
    ).toBeGreaterThanOrEqual(2);
    expect(sum('command-service', 'event_replay_duration_seconds_count', { from_snapshot: 'true' })).toBeGreaterThan(0);
  });

  it('query-service: queries by type and cache outcome, and their timings', () => {
    expect(sum('query-service', 'cqrs_query_total', { type: 'GetTask', cache_hit: 'true' })).toBeGreaterThanOrEqual(
      creates,
    );
    expect(sum('query-service', 'cqrs_query_total', { type: 'GetTask', cache_hit: 'false' })).toBeGreaterThanOrEqual(
      creates,
    );
    expect(sum('query-service', 'cqrs_query_duration_ms_count', { type: 'GetTask' })).toBe(
      sum('query-service', 'cqrs_query_total', { type: 'GetTask' }),
    );
  });

  it('outbox-relay: events published to the topic, their commit-to-Kafka lag, and the slot lag', () => {
    const events = creates + 1 + 1 + racersOk;
    expect(sum('outbox-relay', 'cqrs_events_published_total', { topic: system.topic })).toBe(events);
    expect(sum('outbox-relay', 'cqrs_outbox_publish_lag_seconds_count')).toBe(events);
    expect(scraped['outbox-relay'].samples.filter((s) => s.name === 'cqrs_outbox_slot_lag_bytes')).toEqual([
      expect.objectContaining({ labels: { slot: expect.stringMatching(/^obs_/) }, value: expect.any(Number) }),
    ]);
  });

  it('projector: events by type and outcome, timings, lag per partition, retries, dead letters and duplicates', () => {
    // the tasks read model's projection (the projects context's follows the same events)
    const tasks = { projection: 'tasks' };
    expect(sum('projector', 'cqrs_events_processed_total', { ...tasks, type: 'TaskCreated', status: 'applied' })).toBe(
      creates,
    );
    expect(
      sum('projector', 'cqrs_events_processed_total', { ...tasks, type: 'TaskCreated', status: 'duplicate' }),
    ).toBe(1);
    expect(sum('projector', 'cqrs_events_processed_total', { ...tasks, type: 'TaskStarted', status: 'parked' })).toBe(
      1,
    );
    expect(
      sum('projector', 'cqrs_events_processed_total', { projection: 'projects-task-progress', type: 'TaskCreated' }),
    ).toBe(creates + 1); // its duplicate included
    expect(sum('projector', 'cqrs_event_processing_duration_seconds_count')).toBe(
      sum('projector', 'cqrs_events_processed_total'),
    );
    const lag = scraped.projector.samples.filter(
      (s) => s.name === 'cqrs_consumer_lag_messages' && s.labels['topic'] === system.topic,
    );
    expect(lag.map((s) => s.labels['partition']).sort()).toEqual(['0', '1', '2']);
    expect(sum('projector', 'cqrs_retry_attempts_total')).toBeGreaterThan(0);
    // one dead letter and one duplicate per projection that follows the topic (tasks, projects')
    expect(sum('projector', 'cqrs_dlq_messages_total', { topic: system.topic })).toBe(2);
    expect(sum('projector', 'cqrs_duplicate_events_total', { projection: 'tasks' })).toBe(1);
    expect(sum('projector', 'cqrs_duplicate_events_total', { projection: 'projects-task-progress' })).toBe(1);
  });

  it('dead-letters a record with its original headers, traceparent included (the way back to its trace)', async () => {
    const consumer = kafka.consumer({ groupId: `metrics-e2e-dlq-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: `${system.topic}.dlq`, fromBeginning: true });
    const letter = await new Promise<Record<string, string>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no dead letter within 20 s')), 20_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])));
        },
      });
    });
    await consumer.disconnect();
    expect(letter).toMatchObject({ traceparent: gapTraceparent, eventType: 'TaskStarted', aggregateVersion: '3' });
  });
});
