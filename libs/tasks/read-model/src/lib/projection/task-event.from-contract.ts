import type { NullableStringChange, TasksTaskEventsRecord } from '@cqrs/tasks-contracts';
import type { TaskEvent } from '@cqrs/tasks-domain';
import { assertNever } from '@cqrs/util';

/** A task event as the projector applies it: the domain event and its place in its stream. */
export interface TaskStreamEvent {
  eventId: string;
  streamId: string;
  version: number;
  event: TaskEvent;
}

const instant = (millis: number | Date) => new Date(millis).toISOString();
// The contract wraps optional changes: null = unchanged, {value: null} = cleared, {value} = set.
const change = (c: NullableStringChange | null): string | null | undefined => (c === null ? undefined : c.value);
const present = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/**
 * Maps a decoded contract record (read with the current reader schema) back to the domain event
 * the command side recorded: the inverse of the command side's domain → contract mapping, so a
 * fold over these events equals a fold over the event store's.
 */
export function fromContractRecord(record: TasksTaskEventsRecord): TaskStreamEvent {
  const v = record.value;
  const envelope = { eventId: v.eventId, streamId: v.aggregateId, version: Number(v.aggregateVersion) };
  const at = instant(v.occurredAt);
  const taskId = v.aggregateId;
  switch (record.eventType) {
    case 'TaskCreated': {
      const c = record.value;
      return {
        ...envelope,
        event: {
          type: 'TaskCreated',
          data: present({
            taskId,
            ownerId: c.ownerId,
            title: c.title,
            description: c.description ?? undefined,
            dueDate: c.dueDate ?? undefined,
            priority: c.priority,
            createdAt: at,
          }),
        },
      };
    }
    case 'TaskUpdated': {
      const u = record.value;
      return {
        ...envelope,
        event: {
          type: 'TaskUpdated',
          data: present({
            taskId,
            title: u.title ?? undefined,
            description: change(u.description),
            dueDate: change(u.dueDate),
            updatedAt: at,
          }),
        },
      };
    }
    case 'TaskStarted':
      return { ...envelope, event: { type: 'TaskStarted', data: { taskId, startedAt: at } } };
    case 'TaskCompleted':
      return { ...envelope, event: { type: 'TaskCompleted', data: { taskId, completedAt: at } } };
    case 'TaskAbandoned':
      return {
        ...envelope,
        event: { type: 'TaskAbandoned', data: { taskId, reason: record.value.reason, abandonedAt: at } },
      };
    case 'TaskDeleted':
      return { ...envelope, event: { type: 'TaskDeleted', data: { taskId, deletedAt: at } } };
    default:
      return assertNever(record, 'task contract record');
  }
}
