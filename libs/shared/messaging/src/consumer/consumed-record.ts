import type { IHeaders, KafkaMessage } from 'kafkajs';

/** One Kafka record as a consumer hands it to its handler: bytes untouched, headers as text. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  /** Offset as Kafka clients carry it (a decimal string; it may exceed 2^53). */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Header values decoded as UTF-8; a repeated header keeps its first value. */
  headers: Record<string, string>;
  /** Broker or producer timestamp, epoch milliseconds as a string. */
  timestamp: string;
}

/** Header values as UTF-8 text (our headers are text: ids, versions, trace context). */
export function headersToText(headers: IHeaders | undefined): Record<string, string> {
  const text: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined) text[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return text;
}

/** Converts a kafkajs message of `topic`/`partition`. */
export function toConsumedRecord(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: headersToText(message.headers),
    timestamp: message.timestamp,
  };
}
