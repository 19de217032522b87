import type NodeModule from 'node:module';

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
export function encodeRecord({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordInput): EncodedRecord {
  // Strings are measured, then written straight into the record: no intermediate buffers.
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
  let body = 1 + sizeOfVarLong(delta) + sizeOfVarInt(offsetDelta) + sizeOfPart(keyPart) + sizeOfPart(valuePart) + sizeOfVarInt(headerParts.length / 2);
  for (const part of headerParts) body += sizeOfPart(part);
  const total = sizeOfVarInt(body) + body;
  const buf = Buffer.allocUnsafe(total);
  let offset = writeVarInt(buf, 0, body);
  buf[offset++] = 0; // attributes
  offset = writeVarLong(buf, offset, delta);
  offset = writeVarInt(buf, offset, offsetDelta);
  offset = writePart(buf, offset, keyPart);
  offset = writePart(buf, offset, valuePart);
  offset = writeVarInt(buf, offset, headerParts.length / 2);
  for (const part of headerParts) offset = writePart(buf, offset, part);
  // Shaped like a kafkajs Encoder: the record batch reads `buf` and `buffer`.
  return { buf, offset: total, buffer: buf };
}

/** A key, value or header field: null, raw bytes, or a string with its UTF-8 length. */
type Part = null | Buffer | { text: string; length: number };

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
    buf[offset++] = (v % 128) | 0x80;
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

type RecordBatchEncoder = (input: RecordBatchInput) => Promise<EncodedRecord & { size(): number }>;

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
    const bodyLength = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4 + recordsLength;
    const batchLength = 4 + 1 + 4 + bodyLength;
    const total = 8 + 4 + batchLength;
    const buf = Buffer.allocUnsafe(total);
    const now = Date.now();
    buf.writeBigInt64BE(toBigInt(input.firstOffset ?? 0), 0);
    buf.writeInt32BE(batchLength, 8);
    buf.writeInt32BE(input.partitionLeaderEpoch ?? 0, 12);
    buf.writeInt8(2, 16); // magic
    const body = 21;
    buf.writeInt16BE(input.transactional ? 16 : 0, body); // attributes: no compression, create time
    buf.writeInt32BE(input.lastOffsetDelta ?? 0, body + 2);
    buf.writeBigInt64BE(toBigInt(input.firstTimestamp ?? now), body + 6);
    buf.writeBigInt64BE(toBigInt(input.maxTimestamp ?? now), body + 14);
    buf.writeBigInt64BE(toBigInt(input.producerId ?? -1), body + 22);
    buf.writeInt16BE(input.producerEpoch ?? 0, body + 30);
    buf.writeInt32BE(input.firstSequence ?? 0, body + 32);
    buf.writeInt32BE(records.length, body + 36);
    let offset = body + 40;
    for (const record of records) offset += record.buffer.copy(buf, offset);
    buf.writeUInt32BE(crc32c(buf, body, total), 17);
    return { buf, offset: total, buffer: buf, size: () => total };
  };
}

// kafkajs passes numbers, numeric strings (message timestamps) and its Long (a bigint holder).
function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { value?: unknown }).value === 'bigint') return (value as { value: bigint }).value;
  return BigInt(String(value));
}

// CRC-32C (Castagnoli), slicing by 8: eight table lookups per 8 bytes instead of one per byte.
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

/** CRC-32C of `buf[start, end)`, as Kafka checksums record batches. */
export function crc32c(buf: Buffer, start = 0, end = buf.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
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

const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0';
const RECORD_BATCH_MODULE = 'kafkajs/src/protocol/recordBatch/v0';

// Node's own module system, fetched at run time: the bundler rewrites static uses of createRequire.
const nodeModule = () => (process as unknown as { getBuiltinModule(id: 'node:module'): typeof NodeModule }).getBuiltinModule('node:module');

/**
 * kafkajs's Encoder grows its buffer by doubling with `Buffer.alloc`, zero-filling megabytes per
 * produce request only to overwrite them. Bytes past `offset` are never read (`buffer` is a slice
 * up to it), so the grown buffer need not be zeroed.
 */
function growWithoutZeroFill(Encoder: { prototype: object; nextPowerOfTwo(n: number): number }): void {
  Object.assign(Encoder.prototype, {
    ensureAvailable(this: { buf: Buffer; offset: number }, length: number) {
      if (this.offset + length > this.buf.length) {
        const grown = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
        this.buf.copy(grown, 0, 0, this.offset);
        this.buf = grown;
      }
    },
  });
}

/**
 * Puts {@link encodeRecord} and the batch encoder in Node's module cache in place of kafkajs's,
 * before kafkajs loads its own (it does so lazily, at the first produce request). Returns false
 * when kafkajs is not 2.2.4 or already loaded them: the relay then still works, slower, and a row
 * with a null header column fails to publish, loudly (it is retried, never skipped).
 */
export function installRecordEncoder(from = require.main?.filename ?? `${process.cwd()}/`): boolean {
  const Module = nodeModule();
  const nodeRequire = Module.createRequire(from);
  const version = (nodeRequire('kafkajs/package.json') as { version: string }).version;
  const recordPath = nodeRequire.resolve(RECORD_MODULE);
  const batchPath = nodeRequire.resolve(RECORD_BATCH_MODULE);
  const cached = nodeRequire.cache[recordPath];
  if (cached) return cached.exports === encodeRecord;
  if (version !== '2.2.4' || nodeRequire.cache[batchPath]) return false;
  const original = nodeRequire(RECORD_BATCH_MODULE) as { RecordBatch: RecordBatchEncoder; MAGIC_BYTE: number };
  const replace = (path: string, exports: unknown) => {
    const module = new Module(path);
    module.filename = path;
    module.loaded = true;
    module.exports = exports;
    nodeRequire.cache[path] = module;
  };
  replace(batchPath, { ...original, RecordBatch: createRecordBatchEncoder(original.RecordBatch) });
  replace(recordPath, encodeRecord);
  growWithoutZeroFill(nodeRequire('kafkajs/src/protocol/encoder'));
  return true;
}
