import {
  measureRecord,
  RECORD_BATCH_OVERHEAD,
  sealRecordBatch,
  writeRecord,
  writeRecordBatchHeader,
  type MeasuredRecord,
} from './kafkajs-record-encoder';

/**
 * The relay's produce path through kafkajs 2.2.4, written once instead of copied five times.
 *
 * kafkajs builds a produce request as nested Encoders: each record, its batch, the partition, the
 * topic, the request body, the request header and the size prefix are separate buffers, and each
 * level copies the one inside it. At 2 KB payloads those copies, the buffers they allocate and
 * the garbage collection that follows were over a third of the relay's CPU. Here:
 * - {@link encodeProduceRequest} measures the whole request body (records included) and returns a
 *   {@link DeferredPayload}: nothing is written yet;
 * - {@link deferEncoderTails} lets kafkajs's framing (`protocol/request.js`, which wraps the body
 *   in a header and a size prefix) hold that payload by reference instead of copying it. The
 *   socket asks for the framed request's `buffer`, and only then is one buffer of the exact size
 *   allocated and every byte written once, each record batch's checksum computed in place.
 * The bytes are kafkajs's own (see the spec); compressed requests still go through kafkajs.
 */

/** What kafkajs's producer hands a produce request (protocol/requests/produce/v3/request.js). */
export interface ProduceRequestInput {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: { topic: string; partitions: ProducePartitionData[] }[];
}

export interface ProducePartitionData {
  partition: number;
  firstSequence?: number;
  messages: ProduceMessage[];
}

export interface ProduceMessage {
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
  timestamp?: unknown;
}

const DEFERRED = Symbol('kafkajs deferred payload');

/** Bytes that are measured now and written later, straight into the buffer that goes to the socket. */
export class DeferredPayload {
  readonly [DEFERRED] = true;
  private written: Buffer | undefined;

  constructor(
    readonly length: number,
    private readonly write: (buf: Buffer, offset: number) => void,
  ) {}

  size(): number {
    return this.length;
  }

  /** Writes the payload into `buf` at `offset` (exactly `length` bytes). */
  writeInto(buf: Buffer, offset: number): void {
    if (this.written) this.written.copy(buf, offset);
    else this.write(buf, offset);
  }

  /** The payload as a buffer of its own, for code that reads it like an Encoder. */
  get buffer(): Buffer {
    if (!this.written) {
      const buf = Buffer.allocUnsafe(this.length);
      this.write(buf, 0);
      this.written = buf;
    }
    return this.written;
  }

  get buf(): Buffer {
    return this.buffer;
  }

  get offset(): number {
    return this.length;
  }
}

/**
 * The body of a produce request (v3 to v7 share it) for uncompressed record batches, measured
 * now and written once when the framed request is sent.
 */
export function encodeProduceRequest({
  acks,
  timeout,
  transactionalId = null,
  producerId,
  producerEpoch = 0,
  topicData,
}: ProduceRequestInput): DeferredPayload {
  const transactional = !!transactionalId;
  let length = sizeOfString(transactionalId) + 2 + 4 + 4;
  const topics = topicData.map(({ topic, partitions }) => {
    length += sizeOfString(topic) + 4;
    const batches = partitions.map((data) => {
      const batch = measureBatch(data);
      length += 4 + 4 + batch.size;
      return batch;
    });
    return { topic, batches };
  });
  return new DeferredPayload(length, (buf, start) => {
    let offset = writeString(buf, start, transactionalId);
    offset = buf.writeInt16BE(acks, offset);
    offset = buf.writeInt32BE(timeout, offset);
    offset = buf.writeInt32BE(topics.length, offset);
    for (const { topic, batches } of topics) {
      offset = writeString(buf, offset, topic);
      offset = buf.writeInt32BE(batches.length, offset);
      for (const batch of batches) {
        offset = buf.writeInt32BE(batch.partition, offset);
        offset = buf.writeInt32BE(batch.size, offset);
        const batchStart = offset;
        offset = writeRecordBatchHeader(
          buf,
          batchStart,
          {
            firstTimestamp: batch.firstTimestamp,
            maxTimestamp: batch.maxTimestamp,
            producerId,
            producerEpoch,
            firstSequence: batch.firstSequence,
            transactional,
            lastOffsetDelta: batch.records.length - 1,
          },
          batch.records.length,
          batch.size,
        );
        for (const record of batch.records) offset = writeRecord(buf, offset, record);
        sealRecordBatch(buf, batchStart, batch.size);
      }
    }
    if (offset !== start + length)
      throw new Error(`produce request measured ${length} bytes but wrote ${offset - start}`);
  });
}

interface MeasuredBatch {
  partition: number;
  firstSequence: number | undefined;
  firstTimestamp: unknown;
  maxTimestamp: unknown;
  records: MeasuredRecord[];
  size: number;
}

/** One partition's record batch, timestamps chosen exactly as kafkajs chooses them. */
function measureBatch({ partition, firstSequence, messages }: ProducePartitionData): MeasuredBatch {
  const dateNow = Date.now();
  // kafkajs sorts the timestamps as given (numeric strings, compared as strings), first and last
  // being the batch's first and max timestamp.
  const stamps = messages
    .map((m) => m.timestamp)
    .filter((t) => t != null)
    .sort();
  const firstTimestamp = stamps.length === 0 ? dateNow : stamps[0];
  const maxTimestamp = stamps.length === 0 ? dateNow : stamps[stamps.length - 1];
  let size = RECORD_BATCH_OVERHEAD;
  const records = messages.map((message, i) => {
    const record = measureRecord({
      key: message.key,
      value: message.value,
      headers: message.headers,
      offsetDelta: i,
      timestampDelta: ((message.timestamp || dateNow) as number) - (firstTimestamp as number),
    });
    size += record.size;
    return record;
  });
  return { partition, firstSequence, firstTimestamp, maxTimestamp, records, size };
}

function sizeOfString(value: string | null): number {
  return 2 + (value == null ? 0 : Buffer.byteLength(value, 'utf8'));
}

/** kafkajs's STRING / NULLABLE_STRING: int16 length (-1 for null), then UTF-8 bytes. */
function writeString(buf: Buffer, offset: number, value: string | null): number {
  if (value == null) return buf.writeInt16BE(-1, offset);
  const length = Buffer.byteLength(value, 'utf8');
  offset = buf.writeInt16BE(length, offset);
  return offset + buf.write(value, offset, length, 'utf8');
}

/** The parts of kafkajs's Encoder this module changes. */
export interface KafkajsEncoderClass {
  prototype: object;
  nextPowerOfTwo(n: number): number;
}

interface EncoderLike {
  buf: Buffer;
  offset: number;
  /** A payload written after `offset` when the encoder's bytes are finally needed. */
  tail?: Deferred;
}

type Deferred = DeferredPayload | (EncoderLike & { size(): number; writeInto(buf: Buffer, offset: number): void });

const isDeferred = (value: unknown): value is Deferred =>
  value instanceof DeferredPayload ||
  (typeof value === 'object' && value !== null && (value as EncoderLike).tail !== undefined);

/**
 * Teaches kafkajs's Encoder to hold a deferred payload (or an encoder holding one) by reference:
 * `writeEncoder` keeps it as the encoder's tail, `size()` counts it, and the bytes are written
 * once, when `buffer` is read or another write follows. Grown buffers are not zero-filled
 * either (bytes past `offset` are never read). Plain encoders behave as before.
 */
export function deferEncoderTails(Encoder: KafkajsEncoderClass): void {
  const proto = Encoder.prototype as Record<string, unknown>;
  if (proto['writeInto']) return;
  const writeEncoder = proto['writeEncoder'] as (this: EncoderLike, value: unknown) => EncoderLike;
  const grow = (encoder: EncoderLike, length: number) => {
    if (encoder.offset + length > encoder.buf.length) {
      const grown = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(encoder.offset + length));
      encoder.buf.copy(grown, 0, 0, encoder.offset);
      encoder.buf = grown;
    }
  };
  // Writes the tail into the encoder's own buffer (only if something is written after it).
  const inlineTail = (encoder: EncoderLike) => {
    const tail = encoder.tail!;
    encoder.tail = undefined;
    const length = tail.size();
    grow(encoder, length);
    tail.writeInto(encoder.buf, encoder.offset);
    encoder.offset += length;
  };
  Object.defineProperty(proto, 'buffer', {
    configurable: true,
    get(this: EncoderLike) {
      if (this.tail) {
        const tail = this.tail;
        const length = this.offset + tail.size();
        const buf = Buffer.allocUnsafe(length);
        this.buf.copy(buf, 0, 0, this.offset);
        tail.writeInto(buf, this.offset);
        this.tail = undefined;
        this.buf = buf;
        this.offset = length;
      }
      return this.buf.subarray(0, this.offset);
    },
  });
  Object.assign(proto, {
    ensureAvailable(this: EncoderLike, length: number) {
      if (this.tail) inlineTail(this);
      grow(this, length);
    },
    writeEncoder(this: EncoderLike, value: unknown) {
      if (!isDeferred(value)) return writeEncoder.call(this, value);
      if (this.tail) inlineTail(this);
      this.tail = value;
      return this;
    },
    size(this: EncoderLike) {
      return this.offset + (this.tail ? this.tail.size() : 0);
    },
    writeInto(this: EncoderLike, buf: Buffer, offset: number) {
      this.buf.copy(buf, offset, 0, this.offset);
      this.tail?.writeInto(buf, offset + this.offset);
    },
  });
}

/** kafkajs's `protocol/requests/produce` module: the request builder of each protocol version. */
export interface KafkajsProduceRequests {
  protocol(options: { version: number }): ProduceRequestBuilder;
}

type ProduceRequestBuilder = (input: ProduceRequestInput) => {
  request: { encode(): Promise<unknown> };
  response: unknown;
};

/**
 * Routes the body of every uncompressed produce request of v3 or later (they share one layout)
 * through {@link encodeProduceRequest}. kafkajs looks the protocol up for each request, so this
 * holds from the next request on. Older versions and compressed requests keep kafkajs's encoder.
 */
export function encodeProduceRequests(produce: KafkajsProduceRequests): void {
  const protocol = produce.protocol as KafkajsProduceRequests['protocol'] & { [DEFERRED]?: true };
  if (protocol[DEFERRED]) return;
  produce.protocol = Object.assign(
    (options: { version: number }): ProduceRequestBuilder => {
      const build = protocol(options);
      if (options.version < 3) return build;
      return (input) => {
        const built = build(input);
        if (input.compression) return built;
        return { ...built, request: { ...built.request, encode: async () => encodeProduceRequest(input) } };
      };
    },
    { [DEFERRED]: true as const },
  );
}

/**
 * kafkajs's `producer/groupMessagesPerPartition`, linear: kafkajs copies each partition's array
 * for every message it adds (`[...current, message]`), quadratic in the batch size. Same result:
 * an object from partition to its messages, in their order.
 */
export function groupMessagesPerPartition<M>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: {
  topic: string;
  partitionMetadata: unknown[];
  messages: M[];
  partitioner: (args: { topic: string; partitionMetadata: unknown[]; message: M }) => number;
}): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}
