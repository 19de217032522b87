import { randomBytes } from 'node:crypto';
import {
  DeferredPayload,
  encodeProduceRequest,
  groupMessagesPerPartition,
  type ProduceRequestInput,
} from './kafkajs-produce-encoder';

// The setup file (kafkajs-produce.jest.ts) patched the kafkajs this test file loads, as the app
// does. kafkajs's own produce request, framing and grouping come from an isolated registry, to hold
// the replacements to them. (Its record and batch encoders there are still the mapped replacements,
// which kafkajs-record-encoder.spec.ts holds to kafkajs's own.)
type Encoded = { buffer: Buffer };
type RequestBuilder = (input: ProduceRequestInput) => { encode(): Promise<Encoded> };
type Framer = (args: {
  correlationId: number;
  clientId: string;
  request: { apiKey: number; apiVersion: number; encode(): Promise<unknown> };
}) => Promise<Encoded>;
type EncoderInstance = Encoded & {
  writeInt32(n: number): EncoderInstance;
  writeEncoder(e: unknown): EncoderInstance;
  size(): number;
};

const pristine = {} as {
  produceV3: RequestBuilder;
  frame: Framer;
  group: typeof groupMessagesPerPartition;
  Long: { fromValue(v: unknown): unknown };
};
jest.isolateModules(() => {
  pristine.produceV3 = require('kafkajs/src/protocol/requests/produce/v3/request');
  pristine.frame = require('kafkajs/src/protocol/request');
  pristine.group = require('kafkajs/src/producer/groupMessagesPerPartition');
  pristine.Long = require('kafkajs/src/utils/long');
});
const patched = {
  Encoder: require('kafkajs/src/protocol/encoder') as new () => EncoderInstance,
  frame: require('kafkajs/src/protocol/request') as Framer,
  produce: require('kafkajs/src/protocol/requests/produce') as {
    protocol(o: { version: number }): (input: ProduceRequestInput) => { request: { encode(): Promise<unknown> } };
  },
};

const now = 1_763_700_000_000;
const message = (key: string | null, size: number, extra: object = {}) => ({
  key,
  value: randomBytes(size),
  headers: {
    id: randomBytes(8).toString('hex'),
    eventType: 'TaskCreated',
    traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
  },
  ...extra,
});

const inputs: [string, ProduceRequestInput][] = [
  [
    'two topics, several partitions, the relay idempotent producer',
    {
      acks: -1,
      timeout: 30_000,
      producerId: pristine.Long.fromValue(4711),
      producerEpoch: 2,
      compression: 0,
      topicData: [
        {
          topic: 'task.events',
          partitions: [
            {
              partition: 0,
              firstSequence: 120,
              messages: Array.from({ length: 40 }, (_, i) =>
                message(`task-${i}`, 2048, { timestamp: String(now + (i % 7)) }),
              ),
            },
            { partition: 5, firstSequence: 0, messages: [message('task-x', 300, { timestamp: String(now) })] },
          ],
        },
        {
          topic: 'ü-project.events',
          partitions: [
            {
              partition: 2,
              firstSequence: 7,
              messages: [
                message(null, 0, { timestamp: String(now - 5) }),
                message('k', 70_000, { timestamp: String(now + 9) }),
              ],
            },
          ],
        },
      ],
    },
  ],
  [
    'messages without timestamps, null values and header lists, a transactional producer',
    {
      acks: 1,
      timeout: 5000,
      transactionalId: 'relay-tx',
      producerId: pristine.Long.fromValue(-1),
      producerEpoch: 0,
      topicData: [
        {
          topic: 't',
          partitions: [
            {
              partition: 1,
              messages: [
                { key: Buffer.from('bin'), value: null, headers: { multi: ['a', 'b'], empty: '' } },
                { key: 'k2', value: 'text value', timestamp: now },
                { key: 'k3', value: randomBytes(10) },
              ],
            },
          ],
        },
      ],
    },
  ],
  ['no topics', { acks: -1, timeout: 1000, topicData: [] }],
];

describe('produce request body', () => {
  beforeEach(() => jest.spyOn(Date, 'now').mockReturnValue(now));
  afterEach(() => jest.restoreAllMocks());

  it.each(inputs)('is what kafkajs writes: %s', async (_, input) => {
    const ours = encodeProduceRequest(input);
    const theirs = await pristine.produceV3(input).encode();
    expect(ours.size()).toBe(theirs.buffer.length);
    expect(ours.buffer.equals(theirs.buffer)).toBe(true);
  });

  it('is framed by kafkajs (header and size prefix) with the body written once, in place', async () => {
    const [, input] = inputs[0]!;
    const request = { apiKey: 0, apiVersion: 7 };
    const framed = await patched.frame({
      correlationId: 42,
      clientId: 'outbox-relay',
      request: { ...request, encode: async () => encodeProduceRequest(input) },
    });
    const expected = await pristine.frame({
      correlationId: 42,
      clientId: 'outbox-relay',
      request: { ...request, encode: () => pristine.produceV3(input).encode() },
    });
    expect(framed.buffer.equals(expected.buffer)).toBe(true);
    expect(framed.buffer.equals(expected.buffer)).toBe(true); // the socket reads it twice (size, then write)
  });

  it('is written out when more is written after it, and counted by size()', () => {
    const payload = new DeferredPayload(3, (buf, offset) => buf.set([7, 8, 9], offset));
    const encoder = new patched.Encoder().writeInt32(1).writeEncoder(payload);
    expect(encoder.size()).toBe(7);
    const outer = new patched.Encoder().writeInt32(encoder.size()).writeEncoder(encoder).writeInt32(2);
    expect([...outer.buffer]).toEqual([0, 0, 0, 7, 0, 0, 0, 1, 7, 8, 9, 0, 0, 0, 2]);
  });

  it('goes through the patched produce protocol for v3 and later, uncompressed only', async () => {
    const [, input] = inputs[0]!;
    const theirs = await pristine.produceV3(input).encode();
    for (const version of [3, 5, 7]) {
      const body = await patched.produce.protocol({ version })(input).request.encode();
      expect(body).toBeInstanceOf(DeferredPayload);
      expect((body as DeferredPayload).buffer.equals(theirs.buffer)).toBe(true);
    }
    expect(
      await patched.produce
        .protocol({ version: 7 })({ ...input, compression: 1 })
        .request.encode(),
    ).not.toBeInstanceOf(DeferredPayload);
    expect(await patched.produce.protocol({ version: 2 })(input).request.encode()).not.toBeInstanceOf(DeferredPayload);
  });
});

describe('grouping by partition', () => {
  it('gives what kafkajs gives, in linear time', () => {
    const messages = Array.from({ length: 500 }, (_, i) => ({ key: `k${i}`, partition: (i * 7919) % 6 }));
    const args = {
      topic: 't',
      partitionMetadata: [{}, {}, {}, {}, {}, {}],
      messages,
      partitioner: ({ message }: { message: { partition: number } }) => message.partition,
    };
    const ours = groupMessagesPerPartition(args);
    expect(ours).toEqual(pristine.group(args));
    expect(Object.keys(ours)).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(groupMessagesPerPartition({ ...args, partitionMetadata: [] })).toEqual({});
  });
});
