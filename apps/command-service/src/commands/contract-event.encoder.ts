import type { EventMetadata, OutboxEncodeInput } from '@cqrs/event-store';
import {
  AvroSerde,
  createSchemaRegistry,
  RegistryUnavailableError,
  type EventContract,
  type SchemaRegistryOptions,
} from '@cqrs/messaging';
import { DomainError, type EventEnvelope } from '@cqrs/util';

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

/** A generated contract (`<context>…Contracts` of a contracts lib): its schema version is what we write. */
export interface VersionedEventContract extends EventContract {
  readonly version: number;
}

/** Envelope fields every contract record carries besides the event's own data. */
export interface ContractEnvelope {
  eventId: string;
  aggregateId: string;
  aggregateVersion: number;
  correlationId?: string;
  causationId?: string;
}

/** A contract record as the generated `…Record` unions type it: the event type and its Avro value. */
export interface ContractRecord {
  eventType: string;
  value: unknown;
}

/**
 * Maps a domain event to its public contract record. The context owns it: only the mapping knows
 * both the domain's types and the contract's, so either can evolve on its own.
 */
export type ContractRecordMapper<E extends EventEnvelope, R extends ContractRecord = ContractRecord> = (
  event: E,
  envelope: ContractEnvelope,
) => R;

/** What {@link handleAggregateCommand}'s outbox needs from an encoder; {@link ContractEventEncoder} is one. */
export interface OutboxEventEncoder<E extends EventEnvelope> {
  /** The schema version (`.v<N>.avsc`) this service writes an event type with. */
  schemaVersionOf(type: E['type']): number;
  encode(input: OutboxEncodeInput<E>, metadata: EventMetadata): Promise<Buffer>;
}

/** An Avro serde against a Confluent-compatible registry for one contracts array. */
export function contractSerde(registry: SchemaRegistryOptions, contracts: readonly EventContract[]): AvroSerde {
  return new AvroSerde({ registry: createSchemaRegistry(registry), contracts });
}

/**
 * Turns an aggregate's domain events into outbox payloads: the public contract record,
 * Avro-encoded in the Confluent wire format with the registered schema's id. The registry is only
 * asked once per event type; after that encoding is synchronous. One encoder serves one
 * contracts array, i.e. one topic (one topic per aggregate).
 */
export class ContractEventEncoder<E extends EventEnvelope, R extends ContractRecord = ContractRecord>
  implements OutboxEventEncoder<E>
{
  private readonly versions: Map<string, number>;
  private readonly topic: string;

  /**
   * @throws {Error} when the contracts are empty or span several topics: the outbox routes an
   *   aggregate's events to one topic, so the encoder could not say which one an event is for.
   */
  constructor(
    private readonly serde: AvroSerde,
    private readonly contracts: readonly VersionedEventContract[],
    private readonly toContractRecord: ContractRecordMapper<E, R>,
  ) {
    const topics = new Set(contracts.map((c) => c.topic));
    const [topic] = topics;
    if (topic === undefined || topics.size > 1) {
      throw new Error(`an encoder needs the contracts of exactly one topic, got ${[...topics].join(', ') || 'none'}`);
    }
    this.topic = topic;
    this.versions = new Map(contracts.map((c) => [c.eventType, c.version]));
  }

  schemaVersionOf(type: E['type']): number {
    return this.versions.get(type) ?? 1;
  }

  /**
   * Resolves once every event type can be encoded: the first call asks the registry for the
   * schema ids, later ones find them cached and ask nothing (readiness calls this).
   */
  async warm(): Promise<void> {
    await Promise.all(this.contracts.map((c) => this.serde.encoderFor(this.topic, c.eventType)));
  }

  encode(input: OutboxEncodeInput<E>, metadata: EventMetadata): Promise<Buffer> {
    const record = this.toContractRecord(input.event, {
      eventId: input.eventId,
      aggregateId: input.aggregateId,
      aggregateVersion: input.version,
      correlationId: metadata.correlationId,
      causationId: metadata.causationId,
    });
    return this.serde.encode(this.topic, record.eventType, record.value).catch((error: unknown) => {
      throw error instanceof RegistryUnavailableError ? new SchemaRegistryUnavailableError(error) : error;
    });
  }
}
