import type { EventMetadata, OutboxEncodeInput } from '@cqrs/event-store';
import { AvroSerde, createSchemaRegistry, RegistryUnavailableError, type SchemaRegistryOptions } from '@cqrs/messaging';
import { tasksTaskEventsContracts, tasksTaskEventsTopic } from '@cqrs/tasks-contracts';
import type { TaskEvent, TaskEventType } from '@cqrs/tasks-domain';
import { DomainError } from '@cqrs/util';
import { toContractRecord } from './task-event.mapping';

/**
 * 503 with Retry-After: an event type's schema id was not cached yet and the registry did not
 * answer. Nothing was stored (encoding happens before the append); the client may retry.
 */
export class SchemaRegistryUnavailableError extends DomainError {
  /** Sent as HTTP headers by the problem filter. */
  readonly headers = { 'Retry-After': '5' };

  constructor(cause: unknown) {
    super(
      'SCHEMA_REGISTRY_UNAVAILABLE',
      'unavailable',
      'the schema registry cannot be reached to encode this event; retry shortly',
      { cause },
    );
    this.name = 'SchemaRegistryUnavailableError';
  }
}

/**
 * Turns a task event into its outbox payload: the public contract record, Avro-encoded in the
 * Confluent wire format with the registered schema's id. The registry is only asked once per
 * event type; after that encoding is synchronous.
 */
export class TaskEventEncoder {
  private readonly versions = new Map<string, number>(tasksTaskEventsContracts.map((c) => [c.eventType, c.version]));

  constructor(private readonly serde: AvroSerde) {}

  /** An encoder against a Confluent-compatible registry; schemas must be registered already. */
  static create(registry: SchemaRegistryOptions): TaskEventEncoder {
    return new TaskEventEncoder(
      new AvroSerde({ registry: createSchemaRegistry(registry), contracts: tasksTaskEventsContracts }),
    );
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
    return this.serde.encode(tasksTaskEventsTopic, record.eventType, record.value).catch((error: unknown) => {
      throw error instanceof RegistryUnavailableError ? new SchemaRegistryUnavailableError(error) : error;
    });
  }
}
