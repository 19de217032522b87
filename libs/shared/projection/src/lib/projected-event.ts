import { isSerdeError, type AvroSerde } from '@cqrs/messaging';
import { printableBytes, printableText, type ConsumedRecord } from '@cqrs/messaging/consumer';
import { identifierProblem, isWellFormedText } from '@cqrs/util';

/** Longest record key taken as a stream id (code points). */
export const MAX_STREAM_ID_LENGTH = 256;
const MAX_REASON_LENGTH = 2_000;

/** Where a record came from: what a dead letter and an operator need to find it again. */
export interface RecordSource {
  topic: string;
  partition: number;
  offset: string;
}

/** One event of a stream, decoded with the reader schema of its contract, as a projection applies it. */
export interface ProjectedEvent<T = unknown> {
  /** The `eventType` header, e.g. `ProjectCreated`. */
  type: string;
  /** The record key: the aggregate's id. */
  streamId: string;
  /** The `aggregateVersion` header: 1 for the stream's first event. */
  version: number;
  /** The Avro payload. */
  data: T;
  source: RecordSource;
}

/** Thrown by a projection's `apply` for an event it can never apply: the event is parked. */
export class PoisonEventError extends Error {
  override readonly name = 'PoisonEventError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A record that will never decode, with why; its stream and version when those could be read. */
export interface PoisonRecord {
  source: RecordSource;
  streamId: string | null;
  version: number | null;
  code: string;
  message: string;
}

export type DecodedRecord = { ok: true; event: ProjectedEvent; source: RecordSource } | ({ ok: false } & PoisonRecord);

/**
 * A consumed record as a projection sees it: the event of a stream at a version, or a poison
 * verdict with a stable code. Only a retriable failure (the registry unreachable) is thrown, so
 * the batch is retried; whatever else the record holds is a verdict Postgres can store.
 */
export async function decodeProjectedRecord(serde: AvroSerde, record: ConsumedRecord): Promise<DecodedRecord> {
  const source = { topic: record.topic, partition: record.partition, offset: record.offset };
  const key = record.key && record.key.length > 0 ? printableBytes(record.key) : null;
  const keyProblem = key && (key.valid ? identifierProblem(key.text, MAX_STREAM_ID_LENGTH) : 'must be valid UTF-8');
  const streamId = key && !keyProblem ? key.text : null;
  const headerVersion = Number(record.headers['aggregateVersion']);
  const version = Number.isSafeInteger(headerVersion) && headerVersion > 0 ? headerVersion : null;
  const poison = (code: string, message: string): DecodedRecord => ({
    ok: false,
    source,
    streamId,
    version,
    code,
    message: printableText([...message].slice(0, MAX_REASON_LENGTH).join('')),
  });
  if (key === null) return poison('NO_KEY', 'the record has no key, so it belongs to no stream');
  if (keyProblem)
    return poison(
      'INVALID_KEY',
      `the record key is no stream id (it ${keyProblem}): "${printableText(key.text).slice(0, 100)}"`,
    );
  if (record.headerProblem) return poison(record.headerProblem.code, record.headerProblem.message);
  if (version === null)
    return poison('INVALID_VERSION', 'the aggregateVersion header is missing or not a positive integer');
  if (!record.value || record.value.length === 0) return poison('EMPTY_VALUE', 'the record has no value');
  try {
    const { eventType, value } = await serde.decode(record.value, { topic: record.topic });
    const unstorable = unstorableText(value);
    if (unstorable)
      return poison('UNSTORABLE_TEXT', `${eventType} field "${unstorable}" holds text that Postgres cannot store`);
    return { ok: true, source, event: { type: eventType, streamId: key.text, version, data: value, source } };
  } catch (error) {
    if (isSerdeError(error) && !error.retriable) return poison(error.code, error.message);
    throw error;
  }
}

/** The path of the first string Postgres `text` refuses (U+0000 or a lone surrogate), or null. */
function unstorableText(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return value.includes('\u0000') || !isWellFormedText(value) ? path : null;
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return null;
  for (const [name, inner] of Object.entries(value)) {
    const found = unstorableText(inner, path ? `${path}.${name}` : name);
    if (found !== null) return found;
  }
  return null;
}
