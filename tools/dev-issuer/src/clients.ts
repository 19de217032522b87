import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The confidential clients of the issuer's `client_credentials` grant: machine identities (the
 * local stack's services and tools) that trade their id and secret for a short-lived access
 * token, for the schema registry. Apicurio Registry does that trade itself when a client sends
 * it HTTP basic credentials.
 */
export interface ConfidentialClient {
  id: string;
  secret: string;
  /** The token's `roles` claim. @default {@link rolesOf}(id) */
  roles?: string[];
}

/** Finds a client by id; `undefined` for an unknown one. Never logs or throws a secret. */
export type ClientSource = (id: string) => Promise<{ secret: string; roles: string[] } | undefined>;

/** `aud` of every client-credentials token: the audience the stack's schema registry demands. */
export const CLIENT_AUDIENCE = 'cqrs-schema-registry';
/** Lifetime of a client-credentials token, in seconds: short, the client asks again. */
export const CLIENT_TOKEN_TTL_S = 300;

/**
 * Apicurio Registry's roles (`apicurio.auth.roles.*`) for the local stack's identities: tooling
 * (`schemas:register`, the migrations job) administers the registry; the apps only read and look
 * up schemas (the command side never registers one: it encodes with the registered versions).
 */
const STACK_ROLES: Record<string, string[]> = {
  'cqrs-admin': ['sr-admin'],
};
export const DEFAULT_CLIENT_ROLES = ['sr-readonly'];

/** The registry roles the issuer puts in a client's token: least privilege for unknown ids. */
export function rolesOf(id: string): string[] {
  return Object.hasOwn(STACK_ROLES, id) ? [...(STACK_ROLES[id] as string[])] : [...DEFAULT_CLIENT_ROLES];
}

/** A client id that can name a file: letters, digits, `.`, `_`, `-`, not starting with a dot. */
const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Clients given in code (tests, embedding). */
export function staticClients(clients: ConfidentialClient[]): ClientSource {
  const byId = new Map(clients.map((c) => [c.id, { secret: c.secret, roles: c.roles ?? rolesOf(c.id) }]));
  return async (id) => byId.get(id);
}

/**
 * Clients of the local stack: every `registry-<id>.password` in `secretsDir` (the stack writes
 * them at `up`, mode 0600). Read at each request, so a secret rotated on disk applies at once
 * and the issuer may start before the secrets exist.
 */
export function secretsDirClients(secretsDir: string): ClientSource {
  return async (id) => {
    if (!CLIENT_ID.test(id)) return undefined;
    let secret: string;
    try {
      secret = (await readFile(join(secretsDir, `registry-${id}.password`), 'utf8')).replace(/\r?\n$/, '');
    } catch {
      return undefined;
    }
    return secret === '' ? undefined : { secret, roles: rolesOf(id) };
  };
}

/** Compares secrets in constant time (over their digests, so lengths leak nothing either). */
export function secretMatches(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
