import { AvroSerde, createSchemaRegistry, type EventContract } from '@cqrs/messaging';
import { createKafka, DeadLetterPublisher, DLQ_HEADERS, totalLag } from '@cqrs/messaging/consumer';
import { createThrowawayDatabase, eventually, getTestInfra, type ThrowawayDatabase } from '@cqrs/testing';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { PoisonEventError, type ProjectedEvent } from './projected-event';
import { checkpointTableSql, type Queryable } from './read-database';
import { decodeStreamChanges, type StreamChange } from './stream-changes';
import { resetStreamProjection, ResetRefusedError } from './reset';
import { StreamProjection } from './stream-projection';

// A stream projection on the real Kafka, registry and PostgreSQL: a counter per stream, whose
// events add an amount (a negative one is rejected by the projection).
const run = randomBytes(4).toString('hex');
const topic = `test.projection.${run}.events`;
const contracts: EventContract[] = [
  {
    eventType: 'Counted',
    recordName: 'test.projection.Counted',
    topic,
    subject: `${topic}-test.projection.Counted`,
    compatibility: 'BACKWARD',
    schema: {
      type: 'record',
      name: 'Counted',
      namespace: 'test.projection',
      fields: [{ name: 'amount', type: 'int' }],
    },
  },
];

interface Letter {
  key: string | null;
  reason: string;
  code: string;
  message: string;
  offset: string;
}

describe('StreamProjection (real Kafka, registry, PostgreSQL)', () => {
  let db: ThrowawayDatabase;
  let pool: Pool;
  let kafka: Kafka;
  let producer: Producer;
  let dlqReader: Consumer;
  let dlq: DeadLetterPublisher;
  let serde: AvroSerde;
  let projection: StreamProjection;
  const letters: Letter[] = [];
  const notified: StreamChange[] = [];
  let listener: Client;

  const apply = async (tx: Queryable, event: ProjectedEvent) => {
    const { amount } = event.data as { amount: number };
    // Written before the check: a rejected event must leave none of its writes behind.
    await tx.query(
      `INSERT INTO counters (stream_id, total, events) VALUES ($1, $2, 1)
       ON CONFLICT (stream_id) DO UPDATE SET total = counters.total + $2, events = counters.events + 1`,
      [event.streamId, amount],
    );
    if (amount < 0) throw new PoisonEventError('NEGATIVE_AMOUNT', `amount ${amount} is below zero`);
  };

  const send = async (
    records: { key: string | null; version?: number | string; amount?: number; value?: Buffer }[],
  ): Promise<void> => {
    const encoder = await serde.encoderFor(topic, 'test.projection.Counted');
    await producer.send({
      topic,
      acks: -1,
      messages: records.map((r) => ({
        key: r.key,
        value: r.value ?? encoder.encode({ amount: r.amount ?? 1 }),
        headers: { eventType: 'Counted', ...(r.version === undefined ? {} : { aggregateVersion: String(r.version) }) },
        // one partition for everything: the order of the records is the order of the test
        partition: 0,
      })),
    });
  };

  const counter = async (stream: string) =>
    (
      await pool.query<{ total: number; events: number }>('SELECT total, events FROM counters WHERE stream_id = $1', [
        stream,
      ])
    ).rows[0] ?? null;
  const checkpoint = async (stream: string) =>
    (
      await pool.query<{ version: number; parked_version: number | null }>(
        'SELECT version, parked_version FROM checkpoints WHERE projection = $1 AND stream_id = $2',
        ['counters', stream],
      )
    ).rows[0];
  const definition = {
    name: 'counters',
    topics: [topic],
    contracts,
    checkpointTable: 'checkpoints',
    tables: ['counters'],
    notifyChannel: 'counters_changed',
    apply,
  };
  const groupId = `test-stream-projection-${run}`;
  const start = async () => {
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const registry = createSchemaRegistry((await getTestInfra()).schemaRegistry);
    projection = new StreamProjection(
      definition,
      { pool, kafka, registry, dlq, logger },
      {
        groupId,
        createTopicsWithPartitions: 2,
        concurrency: 2,
        maxBatchBytes: 1_048_576,
        gapRetries: 1,
        retry: { minTimeoutMs: 20, maxTimeoutMs: 200 },
        restartEveryMs: 200,
      },
    );
    projection.start();
  };
  const caughtUp = () =>
    eventually(async () => {
      if (!projection.status().running) throw new Error(projection.status().problem ?? 'not running');
      const lag = totalLag(await projection.lag());
      if (lag !== 0) throw new Error(`${lag} records behind`);
    }, 60_000);

  beforeAll(async () => {
    const infra = await getTestInfra();
    db = await createThrowawayDatabase(infra.postgres.adminUrl, 'stream_proj');
    await db.query(checkpointTableSql('checkpoints'));
    await db.query(
      'CREATE TABLE counters (stream_id text PRIMARY KEY, total integer NOT NULL, events integer NOT NULL)',
    );
    pool = new Pool({ connectionString: db.url, max: 4 });
    listener = new Client({ connectionString: db.url });
    await listener.connect();
    listener.on('notification', (n) => notified.push(...decodeStreamChanges(n.payload ?? '')));
    await listener.query('LISTEN counters_changed');
    kafka = createKafka({ clientId: `stream-projection-${run}`, ...infra.kafka });
    const registry = createSchemaRegistry(infra.schemaRegistry);
    serde = new AvroSerde({ registry, contracts, autoRegister: true });
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    dlq = new DeadLetterPublisher(kafka);
    await start();
    await caughtUp();
    dlqReader = kafka.consumer({ groupId: `test-stream-projection-dlq-${run}` });
    await dlqReader.connect();
    await dlqReader.subscribe({ topic: `${topic}.dlq`, fromBeginning: true });
    await dlqReader.run({
      eachMessage: async ({ message }) => {
        const header = (name: string) => message.headers?.[name]?.toString() ?? '';
        letters.push({
          key: message.key?.toString() ?? null,
          reason: header(DLQ_HEADERS.reason),
          code: header(DLQ_HEADERS.errorCode),
          message: header(DLQ_HEADERS.errorMessage),
          offset: header(DLQ_HEADERS.sourceOffset),
        });
      },
    });
  }, 120_000);

  afterAll(async () => {
    await projection?.stop();
    await dlqReader?.disconnect();
    await producer?.disconnect();
    await dlq?.disconnect().catch(() => undefined);
    await listener?.end();
    await pool?.end();
    await db?.drop();
  });

  it('applies each stream in order, once, and skips redeliveries', async () => {
    await send([
      { key: 'a', version: 1, amount: 1 },
      { key: 'a', version: 2, amount: 10 },
      { key: 'b', version: 1, amount: 5 },
      { key: 'a', version: 2, amount: 10 }, // a redelivery
      { key: 'a', version: 3, amount: 100 },
    ]);
    await caughtUp();
    expect(await counter('a')).toEqual({ total: 111, events: 3 });
    expect(await counter('b')).toEqual({ total: 5, events: 1 });
    expect(await checkpoint('a')).toEqual({ version: 3, parked_version: null });
    // the query side hears of each stream's new version once the batch committed
    await eventually(() =>
      expect(notified).toEqual(
        expect.arrayContaining([
          { streamId: 'a', version: 3 },
          { streamId: 'b', version: 1 },
        ]),
      ),
    );
    expect(notified.filter((c) => c.streamId === 'a').at(-1)).toEqual({ streamId: 'a', version: 3 });
  });

  it('parks poison on the DLQ with its reason, and keeps going', async () => {
    await send([
      { key: null, version: 1 },
      { key: 'c', version: 1, value: Buffer.from('not avro') },
      { key: 'd', version: 'x' },
      { key: 'e', version: 1, amount: 2 },
    ]);
    await caughtUp();
    expect(await counter('e')).toEqual({ total: 2, events: 1 });
    const codes = await eventually(() => {
      const found = letters.filter((l) => l.key !== 'a' && l.key !== 'b').map((l) => `${l.key}:${l.reason}:${l.code}`);
      if (found.length < 3) throw new Error(`${found.length} dead letters so far`);
      return found;
    });
    // (sorted: a keyless dead letter may land on another DLQ partition than the keyed ones)
    expect(codes.sort()).toEqual([
      'c:UNDECODABLE:NOT_WIRE_FORMAT',
      'd:UNDECODABLE:INVALID_VERSION',
      'null:UNDECODABLE:NO_KEY',
    ]);
  });

  it('parks an event the projection rejects, without its partial writes, and what follows it in its stream', async () => {
    await send([
      { key: 'f', version: 1, amount: 1 },
      { key: 'f', version: 2, amount: -5 },
      { key: 'f', version: 3, amount: 7 },
      { key: 'g', version: 1, amount: 3 },
    ]);
    await caughtUp();
    expect(await counter('f')).toEqual({ total: 1, events: 1 });
    expect(await checkpoint('f')).toEqual({ version: 1, parked_version: 2 });
    expect(await counter('g')).toEqual({ total: 3, events: 1 });
    const forF = await eventually(() => {
      const found = letters.filter((l) => l.key === 'f');
      if (found.length < 2) throw new Error(`${found.length} dead letters of f so far`);
      return found;
    });
    expect(forF.map((l) => [l.reason, l.code])).toEqual([
      ['REJECTED', 'NEGATIVE_AMOUNT'],
      ['PARKED_BEHIND', 'PARKED_BEHIND'],
    ]);
    expect(forF[0]?.message).toBe('counters: amount -5 is below zero');
  });

  it('retries a gap, parks it when it stays open, and still applies the late event before it', async () => {
    await send([{ key: 'h', version: 2, amount: 20 }]);
    await caughtUp();
    expect(await counter('h')).toBeNull();
    expect(await checkpoint('h')).toEqual({ version: 0, parked_version: 2 });
    await send([{ key: 'h', version: 1, amount: 1 }]);
    await caughtUp();
    expect(await counter('h')).toEqual({ total: 1, events: 1 });
    expect(letters.filter((l) => l.key === 'h').map((l) => l.reason)).toEqual(['GAP']);
  });

  it('resumes where it stopped after a restart, applying nothing twice', async () => {
    await projection.stop();
    await send([
      { key: 'a', version: 3, amount: 100 },
      { key: 'a', version: 4, amount: 1000 },
    ]);
    await start();
    await caughtUp();
    expect(await counter('a')).toEqual({ total: 1111, events: 4 });
  });

  it('rebuilds from the topic after a reset, to the same state, and refuses while it runs', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await expect(resetStreamProjection({ definition, groupId, pool, admin })).rejects.toThrow(ResetRefusedError);
      expect(await counter('a')).toEqual({ total: 1111, events: 4 });
      await projection.stop();
      await eventually(async () => {
        const [group] = (await admin.describeGroups([groupId])).groups;
        if (group && group.members.length > 0) throw new Error('the group still has members');
      });
      const before = (await pool.query('SELECT * FROM counters ORDER BY stream_id')).rows;
      expect(await resetStreamProjection({ definition, groupId, pool, admin })).toEqual({ tables: ['counters'] });
      expect(await counter('a')).toBeNull();
      await start();
      await caughtUp();
      expect((await pool.query('SELECT * FROM counters ORDER BY stream_id')).rows).toEqual(before);
      expect(await checkpoint('f')).toEqual({ version: 1, parked_version: 2 });
    } finally {
      await admin.disconnect();
    }
  });
});
