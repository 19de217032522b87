import type { EventMetadata, OutboxEncodeInput } from '@cqrs/event-store';
import { AvroSerde, createSchemaRegistry } from '@cqrs/messaging';
import { tasksTaskEventsContracts, tasksTaskEventsTopic } from '@cqrs/tasks-contracts';
import type { TaskEvent, TaskEventType } from '@cqrs/tasks-domain';
import { toContractRecord } from './task-event.mapping';

/**
 * Turns a task event into its outbox payload: the public contract record, Avro-encoded in the
 * Confluent wire format with the registered schema's id. The registry is only asked once per
 * event type; after that encoding is synchronous.
 */
export class TaskEventEncoder {
  private readonly versions = new Map<string, number>(tasksTaskEventsContracts.map((c) => [c.eventType, c.version]));

  constructor(private readonly serde: AvroSerde) {}

  /** An encoder against a Confluent-compatible registry; schemas must be registered already. */
  static create(registryUrl: string): TaskEventEncoder {
    return new TaskEventEncoder(new AvroSerde({ registry: createSchemaRegistry({ url: registryUrl }), contracts: tasksTaskEventsContracts }));
  }

  /** The schema version (`.v<N>.avsc`) this service writes an event type with. */
  schemaVersionOf(type: TaskEventType): number {
    return this.versions.get(type) ?? 1;
  }

  /**
   * Resolves once every event type can be encoded: the first call asks the registry for the
   * schema ids, later ones find them cached and ask nothing (readiness calls this).
   */
  async warm(): Promise<void> {
    await Promise.all(tasksTaskEventsContracts.map((c) => this.serde.encoderFor(tasksTaskEventsTopic, c.eventType)));
  }

  encode(input: OutboxEncodeInput<TaskEvent>, metadata: EventMetadata): Promise<Buffer> {
    const record = toContractRecord(input.event, {
      eventId: input.eventId,
      aggregateId: input.aggregateId,
      aggregateVersion: input.version,
      correlationId: metadata.correlationId,
      causationId: metadata.causationId,
    });
    return this.serde.encode(tasksTaskEventsTopic, record.eventType, record.value);
  }
}
