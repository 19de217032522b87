import { textProblem } from '@cqrs/util';
import type { IHeaders, KafkaMessage } from 'kafkajs';

/**
 * The most header bytes (names and values, all headers of a record) a consumer accepts. Our own
 * producers write about 300 (ids, version, W3C trace context, whose `tracestate` is at most 512
 * characters); a record over this bound carries something we never wrote.
 */
export const MAX_HEADER_BYTES = 16_384;

/** Why a record's headers cannot be trusted as text: the record is poison, whatever its value. */
export interface HeaderProblem {
  code: 'HEADER_NOT_TEXT' | 'HEADERS_TOO_LARGE';
  message: string;
}

/** One Kafka record as a consumer hands it to its handler: bytes untouched, headers as text. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  /** Offset as Kafka clients carry it (a decimal string; it may exceed 2^53). */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /**
   * Header values as text that any store accepts (see {@link headersToText}); a repeated header
   * keeps its first value. Exact when {@link headerProblem} is undefined, escaped otherwise.
   */
  headers: Record<string, string>;
  /** The headers exactly as they came (every value of a repeated one), for a dead letter. */
  rawHeaders?: IHeaders;
  /** Set when the headers are not valid text or exceed {@link MAX_HEADER_BYTES}. */
  headerProblem?: HeaderProblem;
  /** Broker or producer timestamp, epoch milliseconds as a string. */
  timestamp: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
// Control characters (C0, DEL, C1) and lone surrogates: Postgres refuses U+0000 and unpaired
// surrogates in text and jsonb, and every other control would garble an operator's terminal.
const UNPRINTABLE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// Longest header value shown when the headers are over the bound (the DLQ copy keeps them whole).
const SHOWN_WHEN_OVERSIZED = 256;

/** `text` with every control character and lone surrogate written as a `\uXXXX` escape. */
export function printableText(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** UTF-8 bytes as text when they are valid, otherwise with each byte that is not printable ASCII as `\xHH`. */
export function printableBytes(bytes: Buffer): { text: string; valid: boolean } {
  try {
    return { text: strictUtf8.decode(bytes), valid: true };
  } catch {
    let text = '';
    for (const b of bytes)
      text += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
    return { text, valid: false };
  }
}

/**
 * Header values as text (our headers are text: ids, versions, trace context), and what is wrong
 * with them, if anything: a value that is not well-formed UTF-8 or holds a control character, or
 * more than {@link MAX_HEADER_BYTES} in all. Every name and value returned is storable text
 * whatever came in: offending characters are escaped (`\u0000`, `\xff`), and when the headers
 * are over the bound each value is cut to its first 256 characters.
 */
export function headersToText(headers: IHeaders | undefined): {
  headers: Record<string, string>;
  problem?: HeaderProblem;
} {
  const entries: [string, string][] = [];
  let problem: HeaderProblem | undefined;
  let bytes = 0;
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const values = Array.isArray(raw) ? raw : [raw];
    for (const v of values)
      if (v !== undefined)
        bytes += Buffer.byteLength(name) + (Buffer.isBuffer(v) ? v.length : Buffer.byteLength(String(v)));
    const value = values[0];
    if (value === undefined) continue;
    const decoded = Buffer.isBuffer(value) ? printableBytes(value) : { text: String(value), valid: true };
    const shownName = printableText(name);
    const shown = printableText(decoded.text);
    // kafkajs decodes header names itself (invalid bytes become U+FFFD): only controls show there.
    const wrong = !decoded.valid
      ? 'is not valid UTF-8'
      : shownName !== name
        ? 'has a name with control characters'
        : textProblem(decoded.text, { maxLength: Infinity });
    if (wrong && !problem) problem = { code: 'HEADER_NOT_TEXT', message: `header "${shownName}" ${wrong}` };
    entries.push([shownName, shown]);
  }
  if (bytes > MAX_HEADER_BYTES) {
    problem = {
      code: 'HEADERS_TOO_LARGE',
      message: `headers hold ${bytes} bytes, over the limit of ${MAX_HEADER_BYTES}`,
    };
    for (const entry of entries) {
      const chars = [...entry[1]]; // by code point, so no cut splits a surrogate pair
      if (chars.length > SHOWN_WHEN_OVERSIZED) entry[1] = `${chars.slice(0, SHOWN_WHEN_OVERSIZED).join('')}… (cut)`;
    }
  }
  // fromEntries defines own properties, so even a header named `__proto__` is kept as data.
  return { headers: Object.fromEntries(entries), ...(problem ? { problem } : {}) };
}

/** Converts a kafkajs message of `topic`/`partition`. */
export function toConsumedRecord(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  const { headers, problem } = headersToText(message.headers);
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers,
    ...(message.headers ? { rawHeaders: message.headers } : {}),
    ...(problem ? { headerProblem: problem } : {}),
    timestamp: message.timestamp,
  };
}
