/**
 * Avro in Confluent wire format, with `@kafkajs/confluent-schema-registry` for the registry and
 * avsc for the bytes. Encoding writes with the contract's current schema under the id the
 * registry gave it; decoding reads with the consumer's own (reader) schema whatever version
 * wrote the message, via Avro schema resolution.
 */
import avro from 'avsc';
import type { Schema, Type } from 'avsc';
import { SchemaType, type SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { ContractCatalog, type EventContract } from './event-contract';
import { classifyRegistryCallError, classifySchemaFetchError } from './registry-errors';
import {
  BodyMismatchError,
  IncompatibleSchemaError,
  InvalidValueError,
  SchemaNotRegisteredError,
  UnknownRecordTypeError,
} from './serde-errors';
import { schemaIdOf, WIRE_HEADER_LENGTH, WireSlab } from './wire-format';

/**
 * The registry calls the serde makes; `SchemaRegistry` of `@kafkajs/confluent-schema-registry`
 * satisfies it, and any client pointed at another URL can be injected.
 */
export type SchemaRegistryClient = Pick<SchemaRegistry, 'getSchema' | 'getRegistryIdBySchema' | 'register'>;

export interface AvroSerdeOptions {
  /** Registry client, e.g. `createSchemaRegistry({ url })`. */
  registry: SchemaRegistryClient;
  /** The event types this process writes or reads (e.g. `tasksTaskEventsContracts`). */
  contracts: readonly EventContract[];
  /**
   * Register a writer schema the subject does not hold yet, at the contract's compatibility.
   * Off in production, where `npm run schemas:register` (CI) owns registration and a missing
   * schema is a deployment error. @default false
   */
  autoRegister?: boolean;
}

/** A decoded message. */
export interface DecodedEvent<T = unknown> {
  /** Schema id from the message header (the writer schema). */
  schemaId: number;
  /** Full record name of the writer schema, e.g. `tasks.task.TaskCreated`. */
  recordName: string;
  /** Short record name, e.g. `TaskCreated` (the `eventType` header). */
  eventType: string;
  /** Registry subject, when the topic was given to {@link AvroSerde.decode}. */
  subject?: string;
  /** The record, shaped by the reader schema of this consumer's contract. */
  value: T;
}

/** Encodes one event type with a known schema id, synchronously. */
export interface BoundEncoder {
  readonly schemaId: number;
  readonly contract: EventContract;
  /** Encodes `value` to wire format. @throws {InvalidValueError} when it does not fit the schema. */
  encode(value: unknown): Buffer;
}

interface ReaderPlan {
  recordName: string;
  eventType: string;
  contract: EventContract;
  reader: Type;
  /** Undefined when the writer schema equals the reader schema (no resolution needed). */
  resolver?: object;
}

/**
 * Encodes and decodes events as Avro in Confluent wire format.
 *
 * Schema ids are cached per subject for encoding and reader plans per schema id for decoding,
 * so after the first message of each kind no call reaches the registry.
 */
export class AvroSerde {
  private readonly registry: SchemaRegistryClient;
  private readonly catalog: ContractCatalog;
  private readonly autoRegister: boolean;
  private readonly types = new Map<EventContract, Type>();
  private readonly encoders = new Map<string, Promise<BoundEncoder>>();
  /** Resolved encoders by topic and the record name callers use, for the synchronous hot path. */
  private readonly readyEncoders = new Map<string, Map<string, BoundEncoder>>();
  // Keyed by schema id: bounded by what the registry holds, so a Map is enough. Failed
  // lookups are not kept, so a registry outage does not poison the cache.
  private readonly plans = new Map<number, ReaderPlan>();
  private readonly pendingPlans = new Map<number, Promise<ReaderPlan>>();
  private readonly slab = new WireSlab();

  constructor(options: AvroSerdeOptions) {
    this.registry = options.registry;
    this.catalog = new ContractCatalog(options.contracts);
    this.autoRegister = options.autoRegister ?? false;
  }

  /**
   * Encodes `value` as event `recordName` (full or short name) for `topic`.
   * @throws {UnknownRecordTypeError} no contract for that record on that topic
   * @throws {SchemaNotRegisteredError} the subject does not hold the schema (and autoRegister is off)
   * @throws {RegistryUnavailableError} the registry could not be asked (retriable)
   * @throws {InvalidValueError} the value does not fit the schema
   */
  encode(topic: string, recordName: string, value: unknown): Promise<Buffer> {
    // Hot path without an async frame: once an encoder is ready, encoding is synchronous.
    const ready = this.readyEncoders.get(topic)?.get(recordName);
    if (ready) {
      try {
        return Promise.resolve(ready.encode(value));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.encoderFor(topic, recordName).then((encoder) => encoder.encode(value));
  }

  /**
   * An encoder bound to one event type, for hot paths: after this resolves, encoding is
   * synchronous and never touches the registry.
   */
  encoderFor(topic: string, recordName: string): Promise<BoundEncoder> {
    const contract = this.catalog.find(recordName, topic);
    if (!contract) return Promise.reject(new UnknownRecordTypeError(`${recordName} on topic ${topic}`));
    let encoder = this.encoders.get(contract.subject);
    if (!encoder) {
      encoder = this.createEncoder(contract);
      this.encoders.set(contract.subject, encoder);
      // Forget failures so the next call asks the registry again.
      encoder.catch(() => this.encoders.delete(contract.subject));
    }
    return encoder.then((ready) => {
      const byName = this.readyEncoders.get(topic) ?? new Map<string, BoundEncoder>();
      this.readyEncoders.set(topic, byName.set(recordName, ready));
      return ready;
    });
  }

  /**
   * Decodes a wire-format message with this consumer's reader schema for its record.
   * Pass the topic to get the subject back.
   * @throws {NotWireFormatError} | {UnknownSchemaIdError} | {BodyMismatchError} |
   *   {UnknownRecordTypeError} | {IncompatibleSchemaError}: poison, not retriable
   * @throws {RegistryUnavailableError} retriable
   */
  decode<T = unknown>(bytes: Buffer | Uint8Array, options: { topic?: string } = {}): Promise<DecodedEvent<T>> {
    let buffer: Buffer;
    let schemaId: number;
    try {
      buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      schemaId = schemaIdOf(buffer);
      // Hot path without an async frame once the schema id is known.
      const plan = this.plans.get(schemaId);
      if (plan) return Promise.resolve(this.read<T>(plan, schemaId, buffer, options.topic));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.planFor(schemaId).then((plan) => this.read<T>(plan, schemaId, buffer, options.topic));
  }

  private read<T>(plan: ReaderPlan, schemaId: number, buffer: Buffer, topic: string | undefined): DecodedEvent<T> {
    let decoded: { value: unknown; offset: number };
    try {
      // Decoding at an offset spares a subarray per message.
      decoded = plan.reader.decode(buffer, WIRE_HEADER_LENGTH, plan.resolver as never);
    } catch (error) {
      throw new BodyMismatchError(schemaId, plan.recordName, (error as Error).message);
    }
    if (decoded.offset < 0) throw new BodyMismatchError(schemaId, plan.recordName, 'truncated buffer');
    if (decoded.offset !== buffer.length) {
      throw new BodyMismatchError(
        schemaId,
        plan.recordName,
        `trailing data: ${buffer.length - decoded.offset} bytes after the record`,
      );
    }
    return {
      schemaId,
      recordName: plan.recordName,
      eventType: plan.eventType,
      subject: topic === undefined ? undefined : `${topic}-${plan.recordName}`,
      value: decoded.value as T,
    };
  }

  private typeOf(contract: EventContract): Type {
    let type = this.types.get(contract);
    if (!type) {
      type = avro.Type.forSchema(contract.schema as Schema);
      this.types.set(contract, type);
    }
    return type;
  }

  private async createEncoder(contract: EventContract): Promise<BoundEncoder> {
    const type = this.typeOf(contract);
    const schemaId = await this.schemaIdFor(contract);
    const slab = this.slab;
    return {
      schemaId,
      contract,
      encode(value: unknown): Buffer {
        try {
          return slab.write(schemaId, (buffer, offset) => type.encode(value, buffer, offset));
        } catch (error) {
          const paths: string[] = [];
          type.isValid(value, { errorHook: (path) => paths.push(path.join('.')) });
          throw new InvalidValueError(contract.recordName, paths, error);
        }
      },
    };
  }

  private async schemaIdFor(contract: EventContract): Promise<number> {
    // The exact text generated from the .avsc: Apicurio matches schemas by text, not by meaning.
    const schema = { type: SchemaType.AVRO, schema: JSON.stringify(contract.schema) } as const;
    try {
      return await this.registry.getRegistryIdBySchema(contract.subject, schema);
    } catch (error) {
      const unavailable = classifyRegistryCallError(error);
      if (unavailable) throw unavailable;
      // The client turns the registry's 404 (no such subject or schema) into this bare error.
      if ((error as Error).name !== 'ConfluentSchemaRegistryError') throw error;
      if (!this.autoRegister) throw new SchemaNotRegisteredError(contract.subject);
    }
    try {
      const level = (contract.compatibility ?? 'FULL_TRANSITIVE') as never;
      const { id } = await this.registry.register(schema, { subject: contract.subject, compatibility: level });
      return id;
    } catch (error) {
      throw classifyRegistryCallError(error) ?? error;
    }
  }

  private planFor(schemaId: number): Promise<ReaderPlan> {
    let pending = this.pendingPlans.get(schemaId);
    if (!pending) {
      pending = this.loadPlan(schemaId).finally(() => this.pendingPlans.delete(schemaId));
      this.pendingPlans.set(schemaId, pending);
    }
    return pending;
  }

  private async loadPlan(schemaId: number): Promise<ReaderPlan> {
    let writer: Type;
    try {
      writer = (await this.registry.getSchema(schemaId)) as unknown as Type;
    } catch (error) {
      throw classifySchemaFetchError(error, schemaId);
    }
    if (!avro.Type.isType(writer, 'record') || !writer.name) {
      throw new UnknownRecordTypeError(`schema ${schemaId} (not an Avro record)`, { schemaId });
    }
    const recordName = writer.name;
    const contract = this.catalog.readerFor(recordName);
    if (!contract) throw new UnknownRecordTypeError(recordName, { schemaId });
    const reader = this.typeOf(contract);
    let resolver: object | undefined;
    if (!reader.equals(writer)) {
      try {
        resolver = reader.createResolver(writer);
      } catch (error) {
        throw new IncompatibleSchemaError(schemaId, recordName, (error as Error).message);
      }
    }
    const plan: ReaderPlan = { recordName, eventType: contract.eventType, contract, reader, resolver };
    this.plans.set(schemaId, plan);
    return plan;
  }
}
