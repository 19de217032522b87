import { eventually } from '@cqrs/testing';
import { DLQ_HEADERS, MAX_HEADER_BYTES } from '@cqrs/messaging/consumer';
import type { TaskReadRepository } from '@cqrs/tasks-read-model';
import type { Consumer, IHeaders } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { TaskTopic, taskEventsFor, type RawRecord } from '../../e2e/support/task-topic';
import type { ProjectorOperations } from './projector-operations';
import { startProjectorFixture, type ProjectorFixture } from '../testing/projector-fixture';

type Intended = Required<Pick<RawRecord, 'value' | 'headers'>> & { key: string };

/** A record the projector cannot store, built from the record the relay would have written. */
interface HostileCase {
  name: string;
  hostile: (intended: Intended) => RawRecord;
  reason: string;
  code: string;
  /** What the parked row's (and the letter's) reason must say, so an operator knows what to fix. */
  message: RegExp;
  /** True when the key is a task id: the record parks its task, which a redrive releases. */
  inStream: boolean;
  /** What the operator redrives with: the record as it is (its value was fine), or the intended bytes. */
  fix?: 'as-is' | 'intended value';
}

/** Confluent wire format: magic byte 0, the schema id, the Avro body. */
const wire = (schemaId: number, body: number[]) => {
  const bytes = Buffer.alloc(5 + body.length);
  bytes.writeUInt32BE(schemaId, 1);
  Buffer.from(body).copy(bytes, 5);
  return bytes;
};

// The projector in-process against real Kafka, the registry and Postgres, fed records no producer
// of ours writes. Each must be parked (row and `.dlq` letter, with a reason an operator can act
// on), the partition must move on, and the good records around it must be applied. One
// partition, so "around" is a real order: a record that blocked it would block them all.
describe('projector: every record it cannot store is parked, never retried forever', () => {
  const run = randomUUID().slice(0, 8);
  let fixture: ProjectorFixture;
  let topic: TaskTopic;
  let operations: ProjectorOperations;
  let reader: TaskReadRepository;
  let letterReader: Consumer;
  const letters = new Map<string, { key: Buffer | null; value: Buffer | null; headers: IHeaders }>();

  beforeAll(async () => {
    fixture = await startProjectorFixture({
      name: 'hostile',
      dbPrefix: 'proj_hostile',
      run,
      // One partition, one worker, one gap retry: a blocked partition would show at once.
      partitions: 1,
      poolSize: 4,
      settings: { concurrency: 1, gapRetries: 1 },
      beforeStart: async ({ admin, kafka, topic }) => {
        await admin.createTopics({ topics: [{ topic: `${topic.topic}.dlq`, numPartitions: 1 }], waitForLeaders: true });
        letterReader = kafka.consumer({ groupId: `test-letters-${run}` });
        await letterReader.connect();
        await letterReader.subscribe({ topic: `${topic.topic}.dlq`, fromBeginning: true });
        await letterReader.run({
          eachMessage: async ({ message }) => {
            letters.set(String(message.headers?.[DLQ_HEADERS.sourceOffset]), {
              key: message.key,
              value: message.value,
              headers: message.headers ?? {},
            });
          },
        });
      },
    });
    ({ topic, operations, reader } = fixture);
  });

  afterAll(async () => {
    await letterReader?.disconnect();
    await fixture?.close();
  });

  const caughtUp = () => fixture.caughtUp();

  const cases: HostileCase[] = [
    {
      name: 'a NUL byte in a header value',
      hostile: (r) => ({
        ...r,
        headers: { ...r.headers, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736\u0000-00f067aa0ba902b7-01' },
      }),
      reason: 'UNDECODABLE',
      code: 'HEADER_NOT_TEXT',
      message: /^header "traceparent" must not contain control characters/,
      inStream: true,
      fix: 'as-is',
    },
    {
      name: 'a NUL byte in a header key',
      hostile: (r) => ({ ...r, headers: { ...r.headers, 'trace\u0000id': 'abc' } }),
      reason: 'UNDECODABLE',
      code: 'HEADER_NOT_TEXT',
      message: /^header "trace\\u0000id" has a name with control characters/,
      inStream: true,
      fix: 'as-is',
    },
    {
      name: 'a header value that is not UTF-8',
      hostile: (r) => ({ ...r, headers: { ...r.headers, correlationId: Buffer.from([0x61, 0xff, 0xfe, 0x62]) } }),
      reason: 'UNDECODABLE',
      code: 'HEADER_NOT_TEXT',
      message: /^header "correlationId" is not valid UTF-8/,
      inStream: true,
      fix: 'as-is',
    },
    {
      name: `headers over ${MAX_HEADER_BYTES} bytes`,
      hostile: (r) => ({ ...r, headers: { ...r.headers, padding: 'x'.repeat(MAX_HEADER_BYTES) } }),
      reason: 'UNDECODABLE',
      code: 'HEADERS_TOO_LARGE',
      message: new RegExp(`^headers hold \\d+ bytes, over the limit of ${MAX_HEADER_BYTES}`),
      inStream: true,
      fix: 'as-is',
    },
    {
      name: 'a key that is not UTF-8',
      hostile: (r) => ({ ...r, key: Buffer.from([0xc3, 0x28, 0x61]) }),
      reason: 'UNDECODABLE',
      code: 'INVALID_KEY',
      message: /^the record key is no task id \(it must be valid UTF-8\): "\\xc3\(a"/,
      inStream: false,
    },
    {
      name: 'a NUL byte in the key',
      hostile: (r) => ({ ...r, key: Buffer.from(`${r.key}\u0000`) }),
      reason: 'UNDECODABLE',
      code: 'INVALID_KEY',
      message: /^the record key is no task id \(it must not contain control characters.*\\u0000"$/,
      inStream: false,
    },
    {
      name: 'a value that is not Confluent wire format',
      hostile: (r) => ({ ...r, value: Buffer.from('{"type":"TaskStarted"}') }),
      reason: 'UNDECODABLE',
      code: 'NOT_WIRE_FORMAT',
      message: /^not Confluent wire format/,
      inStream: true,
      fix: 'intended value',
    },
    {
      name: 'a schema id the registry does not know',
      hostile: (r) => ({ ...r, value: wire(2_000_000_123, [2, 4]) }),
      reason: 'UNKNOWN_SCHEMA',
      code: 'UNKNOWN_SCHEMA_ID',
      message: /^unknown schema id 2000000123/,
      inStream: true,
      fix: 'intended value',
    },
    {
      name: 'Avro that does not match its schema',
      // The intended record's schema id, then a body too short for the fields it announces.
      hostile: (r) => ({ ...r, value: Buffer.concat([r.value!.subarray(0, 5), Buffer.from([0x48, 0x61, 0x62])]) }),
      reason: 'UNDECODABLE',
      code: 'BODY_MISMATCH',
      message: /^body does not match writer schema \d+ \(tasks\.task\.TaskStarted\)/,
      inStream: true,
      fix: 'intended value',
    },
  ];

  it.each(cases)('parks $name with its reason, moves on, applies the records around it', async (c) => {
    const t = taskEventsFor(randomUUID(), `hostile-${run}`);
    const around = taskEventsFor(randomUUID(), `around-${run}`);
    await topic.append(t.created(), around.created());
    const [intended] = (await topic.withhold(t.started())) as Intended[];
    const hostile = c.hostile(intended!);
    await topic.sendRaw(hostile);
    // A record whose key names no task is no event of t: t's own v2 arrives after it, intact.
    if (!c.inStream) await topic.sendRaw(intended!);
    await topic.append(t.completed(), around.started());
    await caughtUp();

    expect(await reader.findTask(around.taskId)).toEqual(topic.replay(around.taskId));
    const parked = c.inStream
      ? await operations.listDeadLetters({ streamId: t.taskId })
      : (await operations.listDeadLetters()).filter((p) => p.streamId === null && c.message.test(p.errorMessage));
    const head = parked[0]!;
    expect(head).toMatchObject({ reason: c.reason, errorCode: c.code, errorMessage: expect.stringMatching(c.message) });
    await eventually(async () => expect(letters.has(head.sourceOffset)).toBe(true));
    const letter = letters.get(head.sourceOffset)!;
    expect(letter.key).toEqual(hostile.key === null ? null : Buffer.from(hostile.key));
    expect(letter.value).toEqual(hostile.value);
    for (const [name, value] of Object.entries(hostile.headers ?? {}))
      expect([name, letter.headers[name]]).toEqual([name, Buffer.from(value)]);
    expect(String(letter.headers[DLQ_HEADERS.reason])).toBe(c.reason);
    expect(String(letter.headers[DLQ_HEADERS.errorCode])).toBe(c.code);
    expect(String(letter.headers[DLQ_HEADERS.errorMessage])).toMatch(c.message);

    if (!c.inStream) {
      // Parked alone: the task whose records came around it was never held back.
      expect(parked).toHaveLength(1);
      expect(await reader.findTask(t.taskId)).toEqual(topic.replay(t.taskId));
      return;
    }
    expect(parked.map((p) => [p.aggregateVersion, p.reason])).toEqual([
      [2, c.reason],
      [3, 'PARKED_BEHIND'],
    ]);
    expect(await reader.findTask(t.taskId)).toMatchObject({ version: 1 });
    // The operator's way out: redrive it (with the intended bytes when the value was the problem).
    const result = await operations.redriveOne(head.id, c.fix === 'intended value' ? intended!.value! : undefined);
    expect(result).toEqual({ streamId: t.taskId, released: 2, stillParked: 0 });
    expect(await reader.findTask(t.taskId)).toEqual(topic.replay(t.taskId));
  });

  it('parks a decodable event whose text Postgres cannot store (NUL in an Avro string), and the rest flows', async () => {
    const t = taskEventsFor(randomUUID(), `hostile-${run}`);
    const around = taskEventsFor(randomUUID(), `around-${run}`);
    await topic.append(t.created(), around.created());
    const [intended] = await topic.withhold(t.updated({ title: 'a clean title' }));
    // The same event with a NUL in its title, encoded as a producer that skipped the text rules would.
    const poisoned = await topic.encode(
      {
        type: 'TaskUpdated',
        data: { taskId: t.taskId, title: 'null\u0000byte', updatedAt: '2025-01-01T00:01:00.000Z' },
      },
      2,
    );
    await topic.sendRaw({ ...intended!, value: poisoned.value });
    await topic.append(t.started(), around.started());
    await caughtUp();

    expect(await reader.findTask(around.taskId)).toEqual(topic.replay(around.taskId));
    expect(await reader.findTask(t.taskId)).toMatchObject({ version: 1 });
    const parked = await operations.listDeadLetters({ streamId: t.taskId });
    expect(parked.map((p) => [p.aggregateVersion, p.reason, p.errorCode])).toEqual([
      [2, 'INVARIANT_VIOLATED', 'UNSTORABLE_TEXT'],
      [3, 'PARKED_BEHIND', 'PARKED_BEHIND'],
    ]);
    expect(parked[0]!.errorMessage).toBe(
      'TaskUpdated field "title" holds U+0000 (NUL), which Postgres text cannot store',
    );
    await eventually(async () => expect(letters.get(parked[0]!.sourceOffset)?.value).toEqual(poisoned.value));

    expect(await operations.redriveOne(parked[0]!.id, intended!.value!)).toEqual({
      streamId: t.taskId,
      released: 2,
      stillParked: 0,
    });
    expect(await reader.findTask(t.taskId)).toEqual(topic.replay(t.taskId));
  });
});
