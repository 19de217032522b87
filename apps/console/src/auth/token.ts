/** What the page reads from a token to label itself; the services verify it, the page never does. */
export interface TokenClaims {
  sub: string;
  roles: string[];
  /** Expiry, in seconds since the epoch, when the token says. */
  exp?: number;
}

/** The role that opens the operations view (the services' `AUTH_ADMIN_ROLE`). */
export const ADMIN_ROLE = 'admin';

function base64UrlDecode(part: string): string {
  const base64 = part
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(part.length / 4) * 4, '=');
  const binary = atob(base64);
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/**
 * The claims of a JWT, decoded without verifying it (the services do that on every call), or
 * null when the text is not a JWT with a subject.
 */
export function decodeClaims(token: string): TokenClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(base64UrlDecode(parts[1] ?? ''));
  } catch {
    return null;
  }
  if (typeof payload !== 'object' || payload === null) return null;
  const { sub, roles, exp } = payload as { sub?: unknown; roles?: unknown; exp?: unknown };
  if (typeof sub !== 'string' || sub === '') return null;
  return {
    sub,
    roles: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [],
    ...(typeof exp === 'number' ? { exp } : {}),
  };
}

/** Whether the token has expired at `nowMs`; one without `exp` is left to the services to judge. */
export const isExpired = (claims: TokenClaims, nowMs: number) => claims.exp !== undefined && claims.exp * 1000 <= nowMs;

export const isAdmin = (claims: TokenClaims) => claims.roles.includes(ADMIN_ROLE);

/**
 * Checks a pasted token before it is kept: the reason it cannot be used, or null. Surrounding
 * whitespace and a `Bearer ` prefix, as copied from a terminal or a header, are tolerated by
 * {@link normalizeToken}.
 */
export function tokenProblem(token: string, nowMs: number): string | null {
  if (token === '') return 'Paste an access token.';
  const claims = decodeClaims(token);
  if (claims === null) return 'This is not a JWT access token (three dot-separated parts, with a subject).';
  if (isExpired(claims, nowMs)) return 'This token has expired. Get a new one.';
  return null;
}

export const normalizeToken = (text: string) => text.trim().replace(/^bearer\s+/i, '');
