import type { ConsumedRecord } from '@cqrs/messaging/consumer';
import { isSerdeError, type AvroSerde } from '@cqrs/messaging';
import type { TasksTaskEventsRecord } from '@cqrs/tasks-contracts';
import type { TaskEvent } from '@cqrs/tasks-domain';
import { fromContractRecord, type ParkReason, type SequencedRecord } from '@cqrs/tasks-read-model';

/**
 * Turns a consumed record into what the sequencer applies: the domain event of a task stream at
 * a version, or a poison verdict (with a reason and a stable code) for bytes that will never
 * decode. A retriable failure (the registry is down) is thrown, so the whole batch is retried.
 */
export class TaskRecordDecoder {
  constructor(private readonly serde: AvroSerde) {}

  async decode(record: Pick<ConsumedRecord, 'topic' | 'partition' | 'offset' | 'key' | 'value' | 'headers'>): Promise<SequencedRecord<TaskEvent>> {
    const source = { topic: record.topic, partition: record.partition, offset: record.offset, key: record.key, value: record.value, headers: record.headers };
    const streamId = record.key && record.key.length > 0 ? record.key.toString('utf8') : null;
    const headerVersion = Number(record.headers['aggregateVersion']);
    const version = Number.isSafeInteger(headerVersion) && headerVersion > 0 ? headerVersion : null;
    const poison = (reason: ParkReason, code: string, message: string): SequencedRecord<TaskEvent> => ({
      source,
      decoded: { ok: false, streamId, version, reason, code, message },
    });
    if (streamId === null) return poison('NO_KEY', 'NO_KEY', 'the record has no key, so it belongs to no task');
    if (!record.value || record.value.length === 0) return poison('UNDECODABLE', 'EMPTY_VALUE', 'the record has no value');
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
      return poison('INVARIANT_VIOLATED', 'KEY_MISMATCH', `record key ${streamId} is not the event's aggregate id ${event.streamId}`);
    }
    if (!Number.isSafeInteger(event.version) || event.version < 1) {
      return poison('INVARIANT_VIOLATED', 'INVALID_VERSION', `aggregate version ${event.version} is not a positive integer`);
    }
    return { source, decoded: { ok: true, streamId, version: event.version, event: event.event } };
  }

  decodeAll(records: readonly ConsumedRecord[]): Promise<SequencedRecord<TaskEvent>[]> {
    return Promise.all(records.map((r) => this.decode(r)));
  }
}
