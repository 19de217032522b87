import type { TasksTaskEventsRecord } from '@cqrs/tasks-contracts';
import type { TaskEvent } from '@cqrs/tasks-domain';
import { assertNever } from '@cqrs/util';
import type { ContractEnvelope } from '../commands';

const millis = (iso: string) => Date.parse(iso);
// `undefined` = unchanged, `null` = cleared, text = set; the contract wraps a change in a record.
const change = (value: string | null | undefined) => (value === undefined ? null : { value });

/**
 * Maps a domain event to its public Avro contract record (the current schema version). The
 * domain's types stay internal; only this mapping knows both, so either can evolve on its own.
 */
export function toContractRecord(event: TaskEvent, envelope: ContractEnvelope): TasksTaskEventsRecord {
  const base = {
    eventId: envelope.eventId,
    aggregateId: envelope.aggregateId,
    aggregateVersion: envelope.aggregateVersion,
    correlationId: envelope.correlationId ?? null,
    causationId: envelope.causationId ?? null,
  };
  switch (event.type) {
    case 'TaskCreated': {
      const d = event.data;
      return {
        eventType: 'TaskCreated',
        value: {
          ...base,
          occurredAt: millis(d.createdAt),
          ownerId: d.ownerId,
          title: d.title,
          description: d.description ?? null,
          dueDate: d.dueDate ?? null,
          priority: d.priority,
        },
      };
    }
    case 'TaskUpdated': {
      const d = event.data;
      return {
        eventType: 'TaskUpdated',
        value: {
          ...base,
          occurredAt: millis(d.updatedAt),
          title: d.title ?? null,
          description: change(d.description),
          dueDate: change(d.dueDate),
        },
      };
    }
    case 'TaskStarted':
      return { eventType: 'TaskStarted', value: { ...base, occurredAt: millis(event.data.startedAt) } };
    case 'TaskCompleted':
      return { eventType: 'TaskCompleted', value: { ...base, occurredAt: millis(event.data.completedAt) } };
    case 'TaskAbandoned':
      return {
        eventType: 'TaskAbandoned',
        value: { ...base, occurredAt: millis(event.data.abandonedAt), reason: event.data.reason },
      };
    case 'TaskDeleted':
      return { eventType: 'TaskDeleted', value: { ...base, occurredAt: millis(event.data.deletedAt) } };
    default:
      return assertNever(event, 'task event');
  }
}
