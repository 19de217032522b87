import { randomBytes } from 'node:crypto';
import {
  crc32c,
  crc32cIsNative,
  createRecordBatchEncoder,
  encodeRecord,
  portableCrc32c,
  type RecordInput,
} from './kafkajs-record-encoder';

// kafkajs's own encoders and decoders, required by path (the jest mapping only swaps the relative
// requests kafkajs makes internally), to hold the replacements to byte-for-byte equality.
const kafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (input: RecordInput) => {
  buffer: Buffer;
};
const kafkajsBatch = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (input: object) => Promise<{ buffer: Buffer }>;
};
const kafkajsCrc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
  decoder: unknown,
) => Promise<{ records: DecodedRecord[] }>;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
const Long = require('kafkajs/src/utils/long') as { fromValue(v: unknown): unknown };

interface DecodedRecord {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  offset: string;
  headers: Record<string, Buffer | null>;
}

const records: RecordInput[] = [
  {
    offsetDelta: 0,
    timestampDelta: 0,
    key: 'task-1',
    value: randomBytes(2048),
    headers: { id: 'e1', eventType: 'TaskCreated' },
  },
  { offsetDelta: 1, timestampDelta: 1234, key: Buffer.from('bin'), value: randomBytes(300), headers: {} },
  { offsetDelta: 63, timestampDelta: 64, key: null, value: null },
  {
    offsetDelta: 300,
    timestampDelta: 5_000_000_000,
    key: 'ü-key',
    value: Buffer.alloc(0),
    headers: { multi: ['a', 'b'], emptyValue: '' },
  },
  {
    offsetDelta: 70_000,
    timestampDelta: '17',
    key: 'k',
    value: randomBytes(20_000),
    headers: { ['long-name'.repeat(20)]: 'v'.repeat(200) },
  },
];

describe('replacement record encoder', () => {
  it.each(records.map((r, i) => [i, r] as const))('writes record %i exactly as kafkajs does', (_, record) => {
    expect(encodeRecord(record).buffer.equals(kafkajsRecord(record).buffer)).toBe(true);
  });

  it('writes a null header value, which kafkajs decodes back as null', async () => {
    const encode = createRecordBatchEncoder(kafkajsBatch.RecordBatch as never);
    const batch = await encode({
      firstOffset: Long.fromValue(0),
      firstTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_005,
      lastOffsetDelta: 1,
      producerId: Long.fromValue(-1),
      records: [
        encodeRecord({
          offsetDelta: 0,
          timestampDelta: 0,
          key: 'k',
          value: Buffer.from([1]),
          headers: { traceparent: null, correlationId: 'c' },
        }),
        encodeRecord({
          offsetDelta: 1,
          timestampDelta: 5,
          key: 'k',
          value: Buffer.from([2]),
          headers: { tracestate: undefined },
        }),
      ],
    });
    const { records: decoded } = await decodeBatch(new Decoder(batch.buffer));
    expect(
      decoded.map((r) => ({ key: String(r.key), value: [...r.value!], timestamp: r.timestamp, headers: r.headers })),
    ).toEqual([
      {
        key: 'k',
        value: [1],
        timestamp: '1700000000000',
        headers: { traceparent: null, correlationId: Buffer.from('c') },
      },
      { key: 'k', value: [2], timestamp: '1700000000005', headers: { tracestate: null } },
    ]);
  });
});

describe('replacement record-batch encoder', () => {
  it('writes an uncompressed batch exactly as kafkajs does, checksum included', async () => {
    const input = {
      firstOffset: Long.fromValue(0),
      firstTimestamp: '1700000000000',
      maxTimestamp: '1700000009999',
      lastOffsetDelta: records.length - 1,
      producerId: Long.fromValue(4242),
      producerEpoch: 3,
      firstSequence: 17,
      transactional: false,
      partitionLeaderEpoch: 0,
      compression: 0,
    };
    const ours = await createRecordBatchEncoder(kafkajsBatch.RecordBatch as never)({
      ...input,
      records: records.map(encodeRecord),
    });
    const theirs = await kafkajsBatch.RecordBatch({ ...input, records: records.map(kafkajsRecord) });
    expect(ours.buffer.equals(theirs.buffer)).toBe(true);
    expect(ours.size()).toBe(theirs.buffer.length);
  });

  it('hands compressed batches to kafkajs', async () => {
    const fallback = jest.fn(async () => ({ buf: Buffer.alloc(1), offset: 1, buffer: Buffer.alloc(1), size: () => 1 }));
    await createRecordBatchEncoder(fallback)({ compression: 1, records: [] });
    expect(fallback).toHaveBeenCalledTimes(1);
  });
});

describe.each([
  ['crc32c', crc32c],
  ['portableCrc32c', portableCrc32c],
])('%s', (_, checksum) => {
  it('agrees with kafkajs on every length and offset', () => {
    for (let length = 0; length < 80; length++) {
      const buffer = randomBytes(length + 6);
      expect(checksum(buffer, 3, length + 3)).toBe(kafkajsCrc32C(buffer.subarray(3, length + 3)));
    }
    const big = randomBytes(1 << 20);
    expect(checksum(big)).toBe(kafkajsCrc32C(big));
  });

  it('matches the CRC-32C check value', () => {
    expect(checksum(Buffer.from('123456789'))).toBe(0xe3069283);
  });
});

it('checksums with the native CRC-32C (@node-rs/crc32 ships binaries for the platforms the relay runs on)', () => {
  expect(crc32cIsNative).toBe(true);
});
