import type { ProjectsProjectEventsRecord } from '@cqrs/projects-contracts';
import type { ProjectEvent } from '@cqrs/projects-domain';
import { assertNever } from '@cqrs/util';
import type { ContractEnvelope } from '../commands';

const millis = (iso: string) => Date.parse(iso);

/**
 * Maps a domain event to its public Avro contract record (the current schema version). The
 * domain's types stay internal; only this mapping knows both, so either can evolve on its own.
 */
export function toProjectContractRecord(event: ProjectEvent, envelope: ContractEnvelope): ProjectsProjectEventsRecord {
  const base = {
    eventId: envelope.eventId,
    aggregateId: envelope.aggregateId,
    aggregateVersion: envelope.aggregateVersion,
    correlationId: envelope.correlationId ?? null,
    causationId: envelope.causationId ?? null,
  };
  switch (event.type) {
    case 'ProjectCreated':
      return {
        eventType: 'ProjectCreated',
        value: {
          ...base,
          occurredAt: millis(event.data.createdAt),
          ownerId: event.data.ownerId,
          name: event.data.name,
        },
      };
    case 'ProjectRenamed':
      return {
        eventType: 'ProjectRenamed',
        value: { ...base, occurredAt: millis(event.data.occurredAt), name: event.data.name },
      };
    case 'ProjectArchived':
      return { eventType: 'ProjectArchived', value: { ...base, occurredAt: millis(event.data.occurredAt) } };
    case 'TaskAddedToProject':
      return {
        eventType: 'TaskAddedToProject',
        value: { ...base, occurredAt: millis(event.data.occurredAt), taskId: event.data.taskId },
      };
    default:
      return assertNever(event, 'project event');
  }
}
