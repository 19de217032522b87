/**
 * Why a message could not be encoded or decoded. Consumers split on `retriable`: a retriable
 * error is about the environment (the registry is down) and the same bytes will decode later,
 * so rethrow for redelivery with backoff; a non-retriable one is about the message itself and
 * goes to the DLQ with `code` and `message` as the reason.
 */

/** Stable codes for serde failures; safe to put in a DLQ header or a metric label. */
export type SerdeErrorCode =
  | 'NOT_WIRE_FORMAT'
  | 'UNKNOWN_SCHEMA_ID'
  | 'REGISTRY_UNAVAILABLE'
  | 'BODY_MISMATCH'
  | 'UNKNOWN_RECORD_TYPE'
  | 'INCOMPATIBLE_SCHEMA'
  | 'SCHEMA_NOT_REGISTERED'
  | 'INVALID_VALUE';

/** Base class of every serde failure. */
export abstract class SerdeError extends Error {
  abstract readonly code: SerdeErrorCode;
  /** True when retrying the same bytes later may succeed. */
  abstract readonly retriable: boolean;
  /** Schema id from the message header, when the header could be read. */
  readonly schemaId?: number;

  protected constructor(message: string, options: { schemaId?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.schemaId = options.schemaId;
  }
}

/** The bytes do not start with magic byte 0 and a 4-byte schema id (e.g. JSON, or empty). */
export class NotWireFormatError extends SerdeError {
  readonly code = 'NOT_WIRE_FORMAT' as const;
  readonly retriable = false;

  constructor(reason: string) {
    super(`not Confluent wire format: ${reason}`);
  }
}

/** The registry has no schema with the id in the header. */
export class UnknownSchemaIdError extends SerdeError {
  readonly code = 'UNKNOWN_SCHEMA_ID' as const;
  readonly retriable = false;

  constructor(schemaId: number, registryMessage: string) {
    super(`unknown schema id ${schemaId}: ${registryMessage}`, { schemaId });
  }
}

/**
 * The registry could not be reached, answered with a server error, or refused us
 * (e.g. bad credentials). None of this is the message's fault, so it is retriable.
 */
export class RegistryUnavailableError extends SerdeError {
  readonly code = 'REGISTRY_UNAVAILABLE' as const;
  readonly retriable = true;

  constructor(reason: string, options: { schemaId?: number; cause?: unknown } = {}) {
    super(`schema registry unavailable: ${reason}`, options);
  }
}

/** The Avro body is not a valid encoding under its writer schema (truncated, trailing or corrupt bytes). */
export class BodyMismatchError extends SerdeError {
  readonly code = 'BODY_MISMATCH' as const;
  readonly retriable = false;

  constructor(schemaId: number, recordName: string, reason: string) {
    super(`body does not match writer schema ${schemaId} (${recordName}): ${reason}`, { schemaId });
  }
}

/** The writer schema is a record this consumer has no contract (reader schema) for. */
export class UnknownRecordTypeError extends SerdeError {
  readonly code = 'UNKNOWN_RECORD_TYPE' as const;
  readonly retriable = false;

  constructor(recordName: string, options: { schemaId?: number } = {}) {
    super(`no contract for record ${recordName}`, options);
  }
}

/** The reader schema cannot read data written with the writer schema (a broken contract). */
export class IncompatibleSchemaError extends SerdeError {
  readonly code = 'INCOMPATIBLE_SCHEMA' as const;
  readonly retriable = false;

  constructor(schemaId: number, recordName: string, reason: string) {
    super(`reader schema of ${recordName} cannot read writer schema ${schemaId}: ${reason}`, { schemaId });
  }
}

/** Encoding: the subject does not hold this writer schema, and auto-registration is off. */
export class SchemaNotRegisteredError extends SerdeError {
  readonly code = 'SCHEMA_NOT_REGISTERED' as const;
  readonly retriable = false;

  constructor(subject: string) {
    super(`subject ${subject} does not hold this writer schema; run \`npm run schemas:register\``);
  }
}

/** Encoding: the value does not fit the writer schema. `paths` lists the offending fields. */
export class InvalidValueError extends SerdeError {
  readonly code = 'INVALID_VALUE' as const;
  readonly retriable = false;
  readonly paths: string[];

  constructor(recordName: string, paths: string[], cause: unknown) {
    super(`value does not match ${recordName}: invalid ${paths.length > 0 ? paths.join(', ') : 'value'}`, { cause });
    this.paths = paths;
  }
}

/** Narrows an unknown error to a {@link SerdeError}. */
export function isSerdeError(error: unknown): error is SerdeError {
  return error instanceof SerdeError;
}
