/**
 * Replacements for kafkajs 2.2.4's record and record-batch encoders (protocol/recordBatch/...),
 * the parts of kafkajs (its last release) that fall short on the relay's hot path:
 * - the record encoder cannot encode a null header value (it measures `Buffer.byteLength(value)`
 *   before checking for null, and throws), yet Debezium sends a null-valued header for a null column;
 * - both allocate zero-filled buffers per record, per header and per batch, then grow and copy
 *   them, and checksum byte by byte: most of the relay's CPU at 2 KB payloads went there.
 * These write each record and each batch once into a buffer of the exact size. Their output is
 * byte-for-byte kafkajs's own for everything kafkajs can encode (see the spec).
 */
export function encodeRecord(input: RecordInput): EncodedRecord {
  const record = measureRecord(input);
  const buf = Buffer.allocUnsafe(record.size);
  writeRecord(buf, 0, record);
  // Shaped like a kafkajs Encoder: the record batch reads `buf` and `buffer`.
  return { buf, offset: record.size, buffer: buf };
}

/** A record measured for writing: its fields and its exact encoded size. */
export interface MeasuredRecord {
  delta: number;
  offsetDelta: number;
  key: Part;
  value: Part;
  /** Header names and values, alternating. */
  headers: Part[];
  body: number;
  size: number;
}

/** Measures a record without writing it (strings are measured, not encoded). */
export function measureRecord({
  offsetDelta = 0,
  timestampDelta = 0,
  key,
  value,
  headers = {},
}: RecordInput): MeasuredRecord {
  const keyPart = toPart(key);
  const valuePart = toPart(value);
  const headerParts: Part[] = [];
  for (const name of Object.keys(headers)) {
    const headerValue = headers[name];
    const namePart = headerName(name);
    if (Array.isArray(headerValue)) for (const v of headerValue) headerParts.push(namePart, toPart(v));
    else headerParts.push(namePart, toPart(headerValue));
  }
  const delta = Number(timestampDelta);
  let body =
    1 +
    sizeOfVarLong(delta) +
    sizeOfVarInt(offsetDelta) +
    sizeOfPart(keyPart) +
    sizeOfPart(valuePart) +
    sizeOfVarInt(headerParts.length / 2);
  for (const part of headerParts) body += sizeOfPart(part);
  return {
    delta,
    offsetDelta,
    key: keyPart,
    value: valuePart,
    headers: headerParts,
    body,
    size: sizeOfVarInt(body) + body,
  };
}

/** Writes a measured record at `offset` (strings straight into `buf`); returns the offset after it. */
export function writeRecord(buf: Buffer, offset: number, record: MeasuredRecord): number {
  offset = writeVarInt(buf, offset, record.body);
  buf[offset++] = 0; // attributes
  offset = writeVarLong(buf, offset, record.delta);
  offset = writeVarInt(buf, offset, record.offsetDelta);
  offset = writePart(buf, offset, record.key);
  offset = writePart(buf, offset, record.value);
  offset = writeVarInt(buf, offset, record.headers.length / 2);
  for (const part of record.headers) offset = writePart(buf, offset, part);
  return offset;
}

/** A key, value or header field: null, raw bytes, or a string with its UTF-8 length. */
export type Part = null | Buffer | { text: string; length: number };

function toPart(value: unknown): Part {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  const text = String(value);
  return { text, length: Buffer.byteLength(text, 'utf8') };
}

// Header names repeat on every record: measure each once.
const headerNames = new Map<string, Part>();
function headerName(name: string): Part {
  let part = headerNames.get(name);
  if (!part) {
    part = toPart(name);
    if (headerNames.size < 1000) headerNames.set(name, part);
  }
  return part;
}

function sizeOfPart(part: Part): number {
  return part === null ? 1 : sizeOfVarInt(part.length) + part.length;
}

function writePart(buf: Buffer, offset: number, part: Part): number {
  if (part === null) return writeVarInt(buf, offset, -1);
  offset = writeVarInt(buf, offset, part.length);
  if (Buffer.isBuffer(part)) part.copy(buf, offset);
  else buf.write(part.text, offset, part.length, 'utf8');
  return offset + part.length;
}

/** What the produce request hands the record encoder. */
export interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: number | string;
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
}

/** The parts of a kafkajs Encoder that the record batch uses. */
export interface EncodedRecord {
  buf: Buffer;
  offset: number;
  buffer: Buffer;
}

const zigZag = (n: number) => ((n << 1) ^ (n >> 31)) >>> 0;

function sizeOfVarInt(n: number): number {
  let v = zigZag(n);
  let bytes = 1;
  while (v >= 0x80) {
    v >>>= 7;
    bytes++;
  }
  return bytes;
}

function writeVarInt(buf: Buffer, offset: number, n: number): number {
  let v = zigZag(n);
  while (v >= 0x80) {
    buf[offset++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[offset++] = v;
  return offset;
}

// Zig-zag of a 64-bit value in plain arithmetic: exact for any timestamp delta (|n| < 2^52).
const zigZag64 = (n: number) => (n >= 0 ? n * 2 : -n * 2 - 1);

function sizeOfVarLong(n: number): number {
  let v = zigZag64(n);
  let bytes = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    bytes++;
  }
  return bytes;
}

function writeVarLong(buf: Buffer, offset: number, n: number): number {
  let v = zigZag64(n);
  while (v >= 128) {
    buf[offset++] = v % 128 | 0x80;
    v = Math.floor(v / 128);
  }
  buf[offset++] = v;
  return offset;
}

/** The fields kafkajs's produce request passes to its record-batch encoder. */
export interface RecordBatchInput {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp?: unknown;
  maxTimestamp?: unknown;
  partitionLeaderEpoch?: number;
  lastOffsetDelta?: number;
  transactional?: boolean;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records?: { buffer: Buffer }[];
}

export type RecordBatchEncoder = (input: RecordBatchInput) => Promise<EncodedRecord & { size(): number }>;

/**
 * kafkajs's `RecordBatch` (magic 2) for uncompressed batches, written in one allocation;
 * compressed batches go to kafkajs's own encoder (`fallback`).
 */
export function createRecordBatchEncoder(fallback: RecordBatchEncoder): RecordBatchEncoder {
  return async (input) => {
    if (input.compression) return fallback(input);
    const records = input.records ?? [];
    let recordsLength = 0;
    for (const record of records) recordsLength += record.buffer.length;
    const total = RECORD_BATCH_OVERHEAD + recordsLength;
    const buf = Buffer.allocUnsafe(total);
    let offset = writeRecordBatchHeader(buf, 0, input, records.length, total);
    for (const record of records) offset += record.buffer.copy(buf, offset);
    sealRecordBatch(buf, 0, total);
    return { buf, offset: total, buffer: buf, size: () => total };
  };
}

/** Bytes of an uncompressed record batch (magic 2) besides its records. */
export const RECORD_BATCH_OVERHEAD = 61;
const BATCH_ATTRIBUTES_AT = 21;

/**
 * Writes the header of an uncompressed record batch of `count` records and `total` bytes at
 * `start`, with kafkajs's defaults; returns where the records go. The checksum is written by
 * {@link sealRecordBatch} once the records are in place.
 */
export function writeRecordBatchHeader(
  buf: Buffer,
  start: number,
  input: RecordBatchInput,
  count: number,
  total: number,
): number {
  const now = Date.now();
  buf.writeBigInt64BE(toBigInt(input.firstOffset ?? 0), start);
  buf.writeInt32BE(total - 12, start + 8); // batch length: what follows this field
  buf.writeInt32BE(input.partitionLeaderEpoch ?? 0, start + 12);
  buf.writeInt8(2, start + 16); // magic
  const body = start + BATCH_ATTRIBUTES_AT;
  buf.writeInt16BE(input.transactional ? 16 : 0, body); // attributes: no compression, create time
  buf.writeInt32BE(input.lastOffsetDelta ?? 0, body + 2);
  buf.writeBigInt64BE(toBigInt(input.firstTimestamp ?? now), body + 6);
  buf.writeBigInt64BE(toBigInt(input.maxTimestamp ?? now), body + 14);
  buf.writeBigInt64BE(toBigInt(input.producerId ?? -1), body + 22);
  buf.writeInt16BE(input.producerEpoch ?? 0, body + 30);
  buf.writeInt32BE(input.firstSequence ?? 0, body + 32);
  buf.writeInt32BE(count, body + 36);
  return start + RECORD_BATCH_OVERHEAD;
}

/** Writes the CRC-32C of the batch at `start` (attributes to its end) into its header. */
export function sealRecordBatch(buf: Buffer, start: number, total: number): void {
  buf.writeUInt32BE(crc32c(buf, start + BATCH_ATTRIBUTES_AT, start + total), start + 17);
}

// kafkajs passes numbers, numeric strings (message timestamps) and its Long (a bigint holder).
function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { value?: unknown }).value === 'bigint')
    return (value as { value: bigint }).value;
  return BigInt(String(value));
}

// CRC-32C (Castagnoli) in JavaScript, slicing by 8: eight table lookups per 8 bytes instead of one per byte.
const CRC_TABLES = (() => {
  const tables = Array.from({ length: 8 }, () => new Int32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    tables[0]![n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 8; t++) tables[t]![n] = (tables[t - 1]![n]! >>> 8) ^ tables[0]![tables[t - 1]![n]! & 0xff]!;
  }
  return tables;
})();

type NativeCrc32c = (input: Buffer, initialState?: number) => number;

// The CPU's CRC-32C instruction through @node-rs/crc32 (prebuilt for the usual platforms): about
// ten times the JavaScript below, which stays as the fallback where no binary loads.
const nativeCrc32c = ((): NativeCrc32c | undefined => {
  try {
    return (require('@node-rs/crc32') as { crc32c: NativeCrc32c }).crc32c;
  } catch {
    return undefined;
  }
})();

/** Whether checksums use the native CRC-32C (see {@link crc32c}). */
export const crc32cIsNative = nativeCrc32c !== undefined;

/** CRC-32C of `buf[start, end)`, as Kafka checksums record batches. */
export function crc32c(buf: Buffer, start = 0, end = buf.length): number {
  if (nativeCrc32c) return nativeCrc32c(buf.subarray(start, end)) >>> 0;
  return portableCrc32c(buf, start, end);
}

/** {@link crc32c} in JavaScript. */
export function portableCrc32c(buf: Buffer, start = 0, end = buf.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES as [
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
  ];
  let crc = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    crc =
      t7[a & 0xff]! ^
      t6[(a >>> 8) & 0xff]! ^
      t5[(a >>> 16) & 0xff]! ^
      t4[a >>> 24]! ^
      t3[buf[i + 4]!]! ^
      t2[buf[i + 5]!]! ^
      t1[buf[i + 6]!]! ^
      t0[buf[i + 7]!]!;
  }
  for (; i < end; i++) crc = t0[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
