import { DLQ_HEADERS } from '@cqrs/messaging/consumer';
import { metricsRegistry } from '@cqrs/observability';
import { TaskReadRepository } from '@cqrs/tasks-read-model';
import type { Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { TaskTopic, taskEventsFor, type RawRecord } from '../../e2e/support/task-topic';
import { ProjectionRunner, type ProjectionSettings } from './projection-runner';
import { ProjectorOperations } from './projector-operations';
import { startProjectorFixture, type ProjectorFixture } from '../testing/projector-fixture';

// The projector in-process against real Kafka, the registry and PostgreSQL: a topic written the
// way the outbox relay writes it, read models checked against a replay of what was written.
describe('projector (Kafka → read model)', () => {
  const run = randomUUID().slice(0, 8);
  let kafka: Kafka;
  let topic: TaskTopic;
  let runner: ProjectionRunner;
  let operations: ProjectorOperations;
  let reader: TaskReadRepository;
  let settings: ProjectionSettings;
  let deps: ConstructorParameters<typeof ProjectionRunner>[0];
  const admin = () => kafka.admin();
  let fixture: ProjectorFixture;

  beforeAll(async () => {
    fixture = await startProjectorFixture({ name: 'projector', dbPrefix: 'proj_test', run, partitions: 3 });
    ({ kafka, topic, runner, operations, reader, settings, deps } = fixture);
  });

  afterAll(async () => {
    await fixture?.close();
  });

  const caughtUp = () => fixture.caughtUp();

  const expectReplayed = async (taskIds: string[]) => {
    for (const id of taskIds) expect(await reader.findTask(id)).toEqual(topic.replay(id));
  };

  it('applies every lifecycle so each task and each user’s statistics equal a replay of the events', async () => {
    const owners = [`alice-${run}`, `bob-${run}`];
    const tasks = Array.from({ length: 12 }, (_, i) => taskEventsFor(randomUUID(), owners[i % 2]!));
    await topic.append(...tasks.map((t) => t.created()));
    await topic.append(
      ...tasks.flatMap(
        (t, i) =>
          [
            [t.started(), t.completed()],
            [t.updated({ title: 'renamed', description: 'details' }), t.abandoned('too late')],
            [t.updated({ dueDate: '2026-03-01' }), t.deleted()],
            [t.started()],
          ][i % 4]!,
      ),
    );
    await caughtUp();
    await expectReplayed(tasks.map((t) => t.taskId));
    for (const owner of owners) expect(await reader.userStats(owner)).toEqual(topic.replayStats(owner));
    expect((await reader.userStats(owners[0]!)).total).toBeGreaterThan(0);
  });

  it('applies redelivered records once: with the group reset to the start nothing changes, and duplicates are counted', async () => {
    const t = taskEventsFor(randomUUID(), `carol-${run}`);
    await topic.append(t.created(), t.started());
    await caughtUp();
    const before = await snapshot();
    const duplicatesBefore = await counterValue('cqrs_duplicate_events_total');
    const onTopic = await recordsOnTopic();

    await runner.stop();
    const a = admin();
    await a.connect();
    await a.resetOffsets({ groupId: `${settings.groupPrefix}.g1`, topic: topic.topic, earliest: true });
    await a.disconnect();
    runner = fixture.runner = new ProjectionRunner(deps, settings, 200);
    runner.start();
    await caughtUp();

    expect(await snapshot()).toEqual(before);
    expect((await counterValue('cqrs_duplicate_events_total')) - duplicatesBefore).toBe(onTopic);
  });

  it('parks a poison record and its stream’s later events, DLQs them with the original bytes, lets others flow, and redrives in order', async () => {
    const p = taskEventsFor(randomUUID(), `dave-${run}`);
    const q = taskEventsFor(randomUUID(), `dave-${run}`);
    await topic.append(p.created(), q.created());
    // v2 of p arrives as bytes with a schema id no registry knows.
    const [intended] = await topic.withhold(p.started());
    const poison = {
      key: p.taskId,
      value: Buffer.from([0, 0x7f, 0xff, 0xff, 0xfe, 2, 4, 6]),
      headers: { ...intended!.headers, traceparent: '00-abc-def-01' },
    };
    await topic.sendRaw(poison);
    await topic.append(p.completed(), q.started(), q.completed());
    await caughtUp();

    expect(await reader.findTask(q.taskId)).toEqual(topic.replay(q.taskId));
    expect(await reader.findTask(p.taskId)).toMatchObject({ status: 'open', version: 1 });
    const parked = await operations.listDeadLetters({ streamId: p.taskId });
    expect(parked.map((r) => [r.aggregateVersion, r.reason, r.errorCode])).toEqual([
      [2, 'UNKNOWN_SCHEMA', 'UNKNOWN_SCHEMA_ID'],
      [3, 'PARKED_BEHIND', 'PARKED_BEHIND'],
    ]);
    const status = await operations.status();
    expect(status.parked).toEqual([
      expect.objectContaining({ streamId: p.taskId, count: 2, headId: parked[0]!.id, reason: 'UNKNOWN_SCHEMA' }),
    ]);

    const letters = await readTopic(`${topic.topic}.dlq`, 2);
    expect(letters[0]).toMatchObject({
      key: p.taskId,
      value: poison.value.toString('hex'),
      headers: expect.objectContaining({
        ...poison.headers,
        [DLQ_HEADERS.reason]: 'UNKNOWN_SCHEMA',
        [DLQ_HEADERS.errorCode]: 'UNKNOWN_SCHEMA_ID',
        [DLQ_HEADERS.sourceTopic]: topic.topic,
        [DLQ_HEADERS.sourceOffset]: parked[0]!.sourceOffset,
        [DLQ_HEADERS.attempts]: '1',
        [DLQ_HEADERS.firstFailureAt]: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      }),
    });
    expect(letters[1]!.headers[DLQ_HEADERS.reason]).toBe('PARKED_BEHIND');

    // Later events of p keep parking behind; a redrive of the record that is not the head is refused.
    await topic.append(p.deleted());
    await caughtUp();
    await expect(operations.redriveOne(parked[1]!.id)).rejects.toThrow(`redrive #${parked[0]!.id} first`);
    expect(await operations.redriveOne(parked[0]!.id)).toMatchObject({ released: 0, stillParked: 3 });

    // The fix: the operator supplies the correct bytes for v2; everything behind it follows, in order.
    expect(await operations.redriveOne(parked[0]!.id, intended!.value!)).toEqual({
      streamId: p.taskId,
      released: 3,
      stillParked: 0,
    });
    await expectReplayed([p.taskId]);
    expect(await reader.userStats(`dave-${run}`)).toEqual(topic.replayStats(`dave-${run}`));

    // No longer parked: its next event applies directly.
    await topic.append(p.updated({ title: 'after the redrive' }));
    await caughtUp();
    expect(await reader.findTask(p.taskId)).toMatchObject({ version: 5, title: 'after the redrive' });
  });

  it('retries a gap, then parks it, and applies both in version order once the missing event arrives late', async () => {
    const g = taskEventsFor(randomUUID(), `erin-${run}`);
    await topic.append(g.created());
    const [lost] = await topic.withhold(g.started());
    await topic.append(g.completed()); // v3, while v2 was lost on the way
    await caughtUp();
    expect(
      (await operations.listDeadLetters({ streamId: g.taskId })).map((r) => [r.aggregateVersion, r.reason, r.attempts]),
    ).toEqual([[3, 'GAP', 3]]);
    expect(await reader.findTask(g.taskId)).toMatchObject({ version: 1 });

    await topic.sendRaw(lost!); // v2 shows up late: it parks behind the gap, which it closes
    await caughtUp();
    await eventually(async () => expect(await reader.findTask(g.taskId)).toEqual(topic.replay(g.taskId)));
    expect(await operations.listDeadLetters({ streamId: g.taskId })).toEqual([]);
  });

  it('redrives every parked stream in the order they were parked', async () => {
    const [a, b] = [taskEventsFor(randomUUID(), `gina-${run}`), taskEventsFor(randomUUID(), `gina-${run}`)];
    await topic.append(a.created(), b.created());
    const fixedA = await topic.withhold(a.started());
    const fixedB = await topic.withhold(b.started());
    const broken = (r: RawRecord) => ({ ...r, value: Buffer.from([0, 0x7f, 0xff, 0xff, 0xfd, 1]) });
    // One after the other: a is parked first (they may sit on different partitions).
    await topic.sendRaw(broken(fixedA[0]!));
    await caughtUp();
    await topic.sendRaw(broken(fixedB[0]!));
    await caughtUp();
    expect((await operations.status()).parked.map((p) => p.streamId)).toEqual(
      expect.arrayContaining([a.taskId, b.taskId]),
    );
    // Still broken: a redrive of all reports each stream still parked, in order.
    const results = await operations.redriveAll();
    expect(
      results.filter((r) => r.streamId === a.taskId || r.streamId === b.taskId).map((r) => [r.streamId, r.stillParked]),
    ).toEqual([
      [a.taskId, 1],
      [b.taskId, 1],
    ]);
    for (const [stream, fixed] of [
      [a, fixedA],
      [b, fixedB],
    ] as const) {
      const [head] = await operations.listDeadLetters({ streamId: stream.taskId });
      await operations.redriveOne(head!.id, fixed[0]!.value!);
    }
    await expectReplayed([a.taskId, b.taskId]);
  });

  it('rebuilds into a new generation while queries keep answering, switches, and the running projector follows', async () => {
    const before = await snapshot();
    const live = taskEventsFor(randomUUID(), `frank-${run}`);
    await topic.append(live.created());
    await caughtUp();

    let answeredDuringRebuild = 0;
    let rebuilding = true;
    const queries = (async () => {
      while (rebuilding) {
        if (await reader.findTask(live.taskId)) answeredDuringRebuild++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const report = await operations.rebuild({ source: 'kafka', maxLag: 0, handoffTimeoutMs: 15_000 });
    rebuilding = false;
    await queries;

    expect(report).toMatchObject({ generation: 2, previous: 1, handedOff: true, events: await recordsOnTopic() });
    expect(answeredDuringRebuild).toBeGreaterThan(0);
    await eventually(async () => expect(runner.status()).toMatchObject({ generation: 2, running: true }));

    // Events after the switch land in the new generation through the projector.
    await topic.append(live.started());
    await caughtUp();
    expect(await snapshot()).toEqual({ ...before, [live.taskId]: topic.replay(live.taskId) });
    // The redriven poison stays fixed in the rebuild (its correction is kept by position).
    expect(await operations.listDeadLetters()).toEqual([]);
  });

  /** Every task the topic has seen, as the read model shows it. */
  async function snapshot(): Promise<Record<string, unknown>> {
    const views: Record<string, unknown> = {};
    for (const id of topic.history.keys()) views[id] = await reader.findTask(id);
    return views;
  }

  async function recordsOnTopic(): Promise<number> {
    const a = admin();
    await a.connect();
    const offsets = await a.fetchTopicOffsets(topic.topic);
    await a.disconnect();
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  }

  async function readTopic(name: string, count: number) {
    const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: name, fromBeginning: true });
    const seen: {
      key: string | null;
      value: string | null;
      headers: Record<string, string>;
      offset: string;
      partition: number;
    }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${count} records on ${name}`)), 20_000);
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          seen.push({
            key: message.key?.toString() ?? null,
            value: message.value?.toString('hex') ?? null,
            headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
            offset: message.offset,
            partition,
          });
          if (seen.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    return seen.sort(
      (a, b) => Number(a.headers[DLQ_HEADERS.sourceOffset]) - Number(b.headers[DLQ_HEADERS.sourceOffset]),
    );
  }
});

async function counterValue(name: string): Promise<number> {
  const metric = metricsRegistry.getSingleMetric(name);
  if (!metric) return 0;
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function eventually(assertion: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
