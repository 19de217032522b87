import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths as CommandPaths } from '../generated/commands';
import type { paths as QueryPaths } from '../generated/queries';
import type { AdminPaths } from './admin';
import { isAbortError, networkProblem, problemFromResponse } from './problem-error';
import type { CommandControls } from './types';

/** The caller's access token, read before every request; undefined sends none. */
export type TokenProvider = () => string | undefined | Promise<string | undefined>;

/** Where each service is, e.g. a console's proxy paths (`/api/commands`) or `http://127.0.0.1:3000`. */
export interface BaseUrls {
  /** command-service's API. */
  commands: string;
  /** query-service's API. */
  queries: string;
  /** The projector's admin API, `/admin/cqrs` on it (needed only by the `admin` factories). */
  admin?: string;
}

/** The typed openapi-fetch clients, one per service, for calls the option factories do not cover. */
export interface ServiceClients {
  commands: Client<CommandPaths>;
  queries: Client<QueryPaths>;
  /** Present when `baseUrls.admin` is; its paths are relative to `/admin/cqrs`. */
  admin: Client<AdminPaths> | undefined;
}

export interface ServiceClientOptions {
  baseUrls: BaseUrls;
  token?: TokenProvider;
  /** The fetch to use (a test's, or one with credentials). @default globalThis.fetch */
  fetch?: (request: Request) => Promise<Response>;
}

function authMiddleware(token: TokenProvider | undefined): Middleware {
  return {
    async onRequest({ request }) {
      const value = await token?.();
      if (value) request.headers.set('authorization', `Bearer ${value}`);
      return request;
    },
  };
}

/** A relative base (`/api/commands`) is resolved against the page, as fetch would. */
function absolute(baseUrl: string): string {
  const location = (globalThis as { location?: { href: string } }).location;
  return location && !/^[a-z][a-z0-9+.-]*:/i.test(baseUrl) ? new URL(baseUrl, location.href).href : baseUrl;
}

export function createServiceClients(options: ServiceClientOptions): ServiceClients {
  const auth = authMiddleware(options.token);
  const make = <P extends object>(baseUrl: string): Client<P> => {
    const client = createClient<P>({ baseUrl: absolute(baseUrl).replace(/\/+$/, ''), fetch: options.fetch });
    client.use(auth);
    return client;
  };
  const admin = options.baseUrls.admin;
  return {
    commands: make<CommandPaths>(options.baseUrls.commands),
    queries: make<QueryPaths>(options.baseUrls.queries),
    admin: admin === undefined ? undefined : make<AdminPaths>(admin),
  };
}

/**
 * The data of an openapi-fetch call, or its failure as a `ProblemError` (an abort stays an
 * `AbortError`): the one place answers become values or errors.
 */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<{ data: T; response: Response }> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw networkProblem(error);
  }
  const { data, error, response } = result;
  if (!response.ok || error !== undefined) throw problemFromResponse(response, error);
  return { data: data as T, response };
}

/** A UUID v4 from `crypto.getRandomValues`, which (unlike `randomUUID`) pages served over plain HTTP have too. */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40; // version 4
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // RFC 4122 variant
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The headers of a command: `Idempotency-Key` (given, or the one of this `mutate` call) and `If-Match`. */
export function commandHeaders(controls: CommandControls, idempotencyKey: string): Record<string, string> {
  const headers: Record<string, string> = { 'Idempotency-Key': controls.idempotencyKey ?? idempotencyKey };
  if (controls.expectedVersion !== undefined) headers['If-Match'] = `"${controls.expectedVersion}"`;
  return headers;
}
