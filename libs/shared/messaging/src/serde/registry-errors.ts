/**
 * Turns errors of `@kafkajs/confluent-schema-registry` into serde errors. The client reports
 * everything as `ResponseError { status, message }`; its HTTP layer (mappersmith) reports a
 * refused connection or a timeout as status 400 with the socket error as the message, so the
 * message has to be read as well as the status.
 */
import { RegistryUnavailableError, SerdeError, UnknownSchemaIdError } from './serde-errors';

const NETWORK_FAILURE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|socket hang up|Timeout \(/;
const CLIENT_PREFIX = /^[^ ]* - /;

interface RegistryClientError {
  status?: unknown;
  message?: unknown;
  name?: unknown;
}

/** The registry answered a well-formed "not found" for this id (Confluent 40403, Apicurio alike). */
function isSchemaNotFound(status: number, message: string): boolean {
  // A 404 without the registry's JSON message ("Error, status 404: ...") comes from a wrong
  // base URL, not from the registry: that is a configuration problem, so not the message's fault.
  return status === 404 && !/^Error, status 404/.test(message);
}

/**
 * Classifies a failure to fetch schema `schemaId` from the registry.
 * Only a registry that answers "no such schema" makes the message poison; anything else
 * (network, 5xx, auth, a wrong URL) is the environment's fault and retriable.
 */
export function classifySchemaFetchError(error: unknown, schemaId: number): SerdeError {
  if (error instanceof SerdeError) return error;
  const e = (error ?? {}) as RegistryClientError;
  const message = String(e.message ?? error).replace(CLIENT_PREFIX, '');
  const status = typeof e.status === 'number' ? e.status : undefined;
  if (status !== undefined && !NETWORK_FAILURE.test(message) && isSchemaNotFound(status, message)) {
    return new UnknownSchemaIdError(schemaId, message);
  }
  return new RegistryUnavailableError(describe(status, message), { schemaId, cause: error });
}

/** Classifies a failure of a lookup or registration call made while encoding. */
export function classifyRegistryCallError(error: unknown): SerdeError | undefined {
  if (error instanceof SerdeError) return error;
  const e = (error ?? {}) as RegistryClientError;
  const message = String(e.message ?? error).replace(CLIENT_PREFIX, '');
  const status = typeof e.status === 'number' ? e.status : undefined;
  if (status === undefined) return undefined;
  if (NETWORK_FAILURE.test(message) || status >= 500 || status === 401 || status === 403 || status === 429) {
    return new RegistryUnavailableError(describe(status, message), { cause: error });
  }
  return undefined;
}

function describe(status: number | undefined, message: string): string {
  if (NETWORK_FAILURE.test(message)) return message.replace(/^Error, status 400: /, '');
  return status === undefined ? message : `HTTP ${status}: ${message}`;
}
