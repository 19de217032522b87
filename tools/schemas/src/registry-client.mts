/**
 * The Confluent schema registry REST calls the schema tools make, written against the
 * endpoints that Apicurio 3.0.9's `/apis/ccompat/v7` and Confluent both answer the same way.
 * Registration itself goes through `@kafkajs/confluent-schema-registry` (see register.mts);
 * this client covers what that library does not expose: subject config, compatibility tests,
 * lookups and deletes.
 */
import { fetch, type Agent } from 'undici';
import type { Compatibility } from './manifest.mts';
import { authorizationHeader, fetchDispatcher, type RegistryAccess } from './registry-access.mts';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** The registry could not be reached or answered with a server error; retrying may help. */
export class RegistryUnreachableError extends Error {
  readonly url: string;

  constructor(url: string, reason: string) {
    super(`cannot reach the schema registry at ${url}: ${reason}`);
    this.name = 'RegistryUnreachableError';
    this.url = url;
  }
}

/** The registry answered a request with an error the caller did not expect. */
export class RegistryRequestError extends Error {
  readonly status: number;
  /** Confluent error code from the body, e.g. 40401 subject not found, 409 incompatible. */
  readonly errorCode: number | undefined;

  constructor(method: string, url: string, status: number, errorCode: number | undefined, message: string) {
    super(`${method} ${url} failed with ${status}${errorCode ? ` (error_code ${errorCode})` : ''}: ${message}`);
    this.name = 'RegistryRequestError';
    this.status = status;
    this.errorCode = errorCode;
  }
}

/** A registered schema as the registry reports it. */
export interface RegisteredVersion {
  subject: string;
  version: number;
  id: number;
  schema: string;
}

/** The answer to a compatibility test. */
export interface CompatibilityAnswer {
  compatible: boolean;
  /** Reasons, when the registry gives them (Confluent with `verbose=true`; Apicurio 3.0.9 gives none). */
  messages: string[];
}

export interface RegistryClientOptions {
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number;
}

/**
 * A small client for the registry's subject, config and compatibility endpoints. Given a URL
 * alone it sends no credentials and trusts Node's CAs; given a {@link RegistryAccess} it
 * authenticates (basic or bearer) and trusts the access's CA.
 */
export class RegistryClient {
  readonly baseUrl: string;
  readonly access: RegistryAccess;
  private readonly timeoutMs: number;
  private readonly dispatcher: Agent | undefined;

  constructor(target: string | RegistryAccess, options: RegistryClientOptions = {}) {
    this.access = typeof target === 'string' ? { url: target, auth: { kind: 'none' } } : target;
    this.baseUrl = this.access.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.dispatcher = fetchDispatcher(this.access);
  }

  /** Closes the connections kept open to the registry (with a CA of its own). */
  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  /** Fails with {@link RegistryUnreachableError} unless the registry answers. */
  async ping(): Promise<void> {
    await this.request('GET', '/subjects');
  }

  /** Version numbers of a subject, or `undefined` when the subject does not exist. */
  async versions(subject: string): Promise<number[] | undefined> {
    const res = await this.request<number[]>('GET', `/subjects/${enc(subject)}/versions`, undefined, [404]);
    return res.status === 404 ? undefined : res.body;
  }

  async version(subject: string, version: number): Promise<RegisteredVersion> {
    const res = await this.request<RegisteredVersion>('GET', `/subjects/${enc(subject)}/versions/${version}`);
    return res.body;
  }

  /**
   * The compatibility level that applies to a subject, or `undefined` for an unknown subject.
   * Confluent answers 404 for a subject without its own level unless `defaultToGlobal=true`;
   * Apicurio ignores the flag and always falls back to the global level.
   */
  async compatibility(subject: string): Promise<Compatibility | undefined> {
    const res = await this.request<{ compatibilityLevel?: string; compatibility?: string }>(
      'GET',
      `/config/${enc(subject)}?defaultToGlobal=true`,
      undefined,
      [404],
    );
    if (res.status === 404) return undefined;
    return (res.body.compatibilityLevel ?? res.body.compatibility) as Compatibility;
  }

  async setCompatibility(subject: string, level: Compatibility): Promise<void> {
    await this.request('PUT', `/config/${enc(subject)}`, { compatibility: level });
  }

  /** The registered version whose text equals `schema`, or `undefined`. */
  async lookup(subject: string, schema: string): Promise<RegisteredVersion | undefined> {
    const res = await this.request<RegisteredVersion>('POST', `/subjects/${enc(subject)}`, { schema }, [404]);
    return res.status === 404 ? undefined : res.body;
  }

  /**
   * Whether `schema` could be registered under `subject` at its current level.
   * Apicurio 3.0.9 tests `POST /compatibility/subjects/{s}/versions` against every version
   * whatever the level, and `/versions/latest` against the latest only, where Confluent's
   * `/versions` honours the level. Choosing the endpoint from the level gives the same answer
   * as registration on both registries.
   */
  async testCompatibility(subject: string, schema: string, level: Compatibility): Promise<CompatibilityAnswer> {
    const target = level.endsWith('_TRANSITIVE') ? 'versions' : 'versions/latest';
    const res = await this.request<{ is_compatible: boolean; messages?: string[] }>(
      'POST',
      `/compatibility/subjects/${enc(subject)}/${target}?verbose=true`,
      { schema },
    );
    return { compatible: res.body.is_compatible === true, messages: res.body.messages ?? [] };
  }

  /** Deletes a subject for good (soft delete, then permanent), for throwaway test subjects. */
  async deleteSubject(subject: string): Promise<void> {
    await this.request('DELETE', `/subjects/${enc(subject)}`, undefined, [404]);
    await this.request('DELETE', `/subjects/${enc(subject)}?permanent=true`, undefined, [404]);
  }

  private async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    expected: number[] = [],
  ): Promise<{ status: number; body: T }> {
    const url = `${this.baseUrl}${path}`;
    const authorization = authorizationHeader(this.access.auth);
    let res: Awaited<ReturnType<typeof fetch>>;
    try {
      res = await fetch(url, {
        method,
        headers: {
          accept: CONTENT_TYPE,
          ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }),
          ...(authorization === undefined ? {} : { authorization }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }),
      });
    } catch (error) {
      throw new RegistryUnreachableError(this.baseUrl, networkReason(error));
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok || expected.includes(res.status)) return { status: res.status, body: parsed as T };
    if (res.status >= 500 || res.status === 429) {
      throw new RegistryUnreachableError(this.baseUrl, `${method} ${path} answered ${res.status} ${res.statusText}`);
    }
    const err = (parsed ?? {}) as { error_code?: number; message?: string };
    if (err.error_code === undefined && res.status === 404) {
      // A 404 without a registry error body means the URL does not point at a registry API.
      throw new RegistryUnreachableError(
        this.baseUrl,
        `${method} ${path} answered 404 without a registry error; is the URL the registry's Confluent API base (for Apicurio: .../apis/ccompat/v7)?`,
      );
    }
    throw new RegistryRequestError(
      method,
      path,
      res.status,
      err.error_code,
      err.message ?? (text.slice(0, 300) || res.statusText || `HTTP ${res.status}`),
    );
  }
}

const enc = encodeURIComponent;

function networkReason(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer within the timeout';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
