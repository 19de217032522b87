import { printableBytes, printableText, type ConsumedRecord } from '@cqrs/messaging/consumer';
import { isSerdeError, type AvroSerde } from '@cqrs/messaging';
import { identifierProblem, isWellFormedText } from '@cqrs/util';
import type { TasksTaskEventsRecord } from '@cqrs/tasks-contracts';
import type { TaskEvent } from '@cqrs/tasks-domain';
import { fromContractRecord, type ParkReason, type SequencedRecord } from '@cqrs/tasks-read-model';

/** Longest record key taken as an aggregate id (code points); task ids are UUIDs. */
export const MAX_KEY_LENGTH = 256;
/** Longest reason kept with a parked record (code points), as on the DLQ. */
const MAX_REASON_LENGTH = 2_000;

/**
 * Turns a consumed record into what the sequencer applies: the domain event of a task stream at
 * a version, or a poison verdict (with a reason and a stable code) for bytes that will never
 * decode. A retriable failure (the registry is down) is thrown, so the whole batch is retried.
 *
 * Every input is hostile: whatever the record holds, the verdict is something Postgres stores (a
 * stream id that is an identifier, a reason in printable text), so a bad record is parked, never
 * retried forever. A record whose headers are not text, or too large, is poison too.
 */
export class TaskRecordDecoder {
  constructor(private readonly serde: AvroSerde) {}

  async decode(
    record: Pick<ConsumedRecord, 'topic' | 'partition' | 'offset' | 'key' | 'value' | 'headers' | 'headerProblem'>,
  ): Promise<SequencedRecord<TaskEvent>> {
    const source = {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key,
      value: record.value,
      headers: record.headers,
    };
    const key = record.key && record.key.length > 0 ? printableBytes(record.key) : null;
    const keyProblem = key && (key.valid ? identifierProblem(key.text, MAX_KEY_LENGTH) : 'must be valid UTF-8');
    const streamId = key && !keyProblem ? key.text : null;
    const headerVersion = Number(record.headers['aggregateVersion']);
    const version = Number.isSafeInteger(headerVersion) && headerVersion > 0 ? headerVersion : null;
    const poison = (reason: ParkReason, code: string, message: string): SequencedRecord<TaskEvent> => ({
      source,
      decoded: {
        ok: false,
        streamId,
        version,
        reason,
        code,
        message: printableText([...message].slice(0, MAX_REASON_LENGTH).join('')),
      },
    });
    if (key === null) return poison('NO_KEY', 'NO_KEY', 'the record has no key, so it belongs to no task');
    if (keyProblem) {
      const shown = [...printableText(key.text)].slice(0, 100).join('');
      return poison('UNDECODABLE', 'INVALID_KEY', `the record key is no task id (it ${keyProblem}): "${shown}"`);
    }
    // Parked in its stream (the key is fine): the events behind it wait, in order, for a redrive.
    if (record.headerProblem) return poison('UNDECODABLE', record.headerProblem.code, record.headerProblem.message);
    if (!record.value || record.value.length === 0)
      return poison('UNDECODABLE', 'EMPTY_VALUE', 'the record has no value');
    let decoded: TasksTaskEventsRecord;
    try {
      const { eventType, value } = await this.serde.decode(record.value, { topic: record.topic });
      decoded = { eventType, value } as TasksTaskEventsRecord;
    } catch (error) {
      if (isSerdeError(error) && !error.retriable) {
        return poison(error.code === 'UNKNOWN_SCHEMA_ID' ? 'UNKNOWN_SCHEMA' : 'UNDECODABLE', error.code, error.message);
      }
      throw error;
    }
    let event: ReturnType<typeof fromContractRecord>;
    try {
      event = fromContractRecord(decoded);
    } catch (error) {
      return poison('UNDECODABLE', 'UNKNOWN_EVENT_TYPE', (error as Error).message);
    }
    if (event.streamId !== streamId) {
      return poison(
        'INVARIANT_VIOLATED',
        'KEY_MISMATCH',
        `record key ${streamId} is not the event's aggregate id ${event.streamId}`,
      );
    }
    if (!Number.isSafeInteger(event.version) || event.version < 1) {
      return poison(
        'INVARIANT_VIOLATED',
        'INVALID_VERSION',
        `aggregate version ${event.version} is not a positive integer`,
      );
    }
    const unstorable = unstorableText(event.event.data);
    if (unstorable) {
      return poison(
        'INVARIANT_VIOLATED',
        'UNSTORABLE_TEXT',
        `${event.event.type} field "${unstorable.field}" holds ${unstorable.what}, which Postgres text cannot store`,
      );
    }
    return { source, decoded: { ok: true, streamId, version: event.version, event: event.event } };
  }

  decodeAll(records: readonly ConsumedRecord[]): Promise<SequencedRecord<TaskEvent>[]> {
    return Promise.all(records.map((r) => this.decode(r)));
  }
}

/** The first string of an event that Postgres `text` refuses: one holding U+0000 or a lone surrogate. */
function unstorableText(value: unknown, path = ''): { field: string; what: string } | null {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return { field: path, what: 'U+0000 (NUL)' };
    if (!isWellFormedText(value)) return { field: path, what: 'a lone UTF-16 surrogate' };
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  for (const [name, inner] of Object.entries(value)) {
    const found = unstorableText(inner, path ? `${path}.${name}` : name);
    if (found) return found;
  }
  return null;
}
