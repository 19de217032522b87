import { identifierProblem } from '@cqrs/util';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { AuthenticationError, AuthUnavailableError, DevelopmentIssuerError } from './auth.errors';

/** Who is calling, as their access token says: what ownership and roles are decided on. */
export interface Principal {
  /** The token's `sub`: the owner id of what this caller creates. */
  subject: string;
  roles: readonly string[];
  /** Holds the configured admin role: may read any user's tasks. */
  admin: boolean;
}

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  /** Where the keys are; unset: the issuer's discovery document says. */
  jwksUrl?: string;
  algorithms: string[];
  clockToleranceS: number;
  rolesClaim: string;
  adminRole: string;
  /** Verified tokens remembered; 0: none. */
  cacheSize: number;
  /** NODE_ENV=production: a development issuer is refused. */
  production: boolean;
  /** Each fetch of the discovery document or the keys. @default 5000 */
  fetchTimeoutMs?: number;
}

/** Longest subject accepted: the owner id rule of the tasks it will own. */
const SUBJECT_MAX_LENGTH = 200;
// RFC 6750 §2.1: b64token, after the scheme and one or more spaces.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

type Jwks = ReturnType<typeof createRemoteJWKSet>;

/**
 * Checks OAuth 2.0 / OIDC bearer tokens (JWT access tokens) the way a resource server should:
 * signature against the issuer's published keys (fetched from its discovery document, cached,
 * refetched when a token names an unknown key), the algorithm from an allow-list, `iss`, `aud`,
 * `exp`/`nbf` with a small clock tolerance, and a usable `sub`. A token that verified is
 * remembered by its exact text until it expires, so a client reusing its token costs a map
 * lookup, not a signature check.
 */
export class TokenVerifier {
  private jwks: Jwks | undefined;
  private loading: Promise<Jwks> | undefined;
  private readonly verified = new Map<string, { principal: Principal; expiresAt: number }>();

  constructor(private readonly options: TokenVerifierOptions) {}

  /** Whether the keys were loaded (readiness: without them no token can be checked). */
  get loaded(): boolean {
    return this.jwks !== undefined;
  }

  /**
   * Loads the issuer's keys once (later calls share the first until it settles; a failure lets
   * the next call try again). Throws {@link DevelopmentIssuerError} when production meets the
   * development issuer, whatever else happens.
   */
  load(): Promise<Jwks> {
    if (this.jwks) return Promise.resolve(this.jwks);
    this.loading ??= this.fetchKeys().then(
      (jwks) => (this.jwks = jwks),
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }

  /** The caller of an `Authorization` header value, or an AuthenticationError (401) / AuthUnavailableError (503). */
  async verify(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined || authorization.trim() === '') throw AuthenticationError.required();
    const match = BEARER.exec(authorization);
    if (!match?.[1]) {
      throw /^bearer\b/i.test(authorization)
        ? AuthenticationError.invalid('malformed Authorization header')
        : AuthenticationError.required();
    }
    const token = match[1];
    const remembered = this.verified.get(token);
    if (remembered) {
      if (remembered.expiresAt > Date.now()) return remembered.principal;
      this.verified.delete(token);
    }
    let jwks: Jwks;
    try {
      jwks = await this.load();
    } catch (error) {
      if (error instanceof DevelopmentIssuerError) throw error;
      throw new AuthUnavailableError(error);
    }
    const { issuer, audience, algorithms, clockToleranceS } = this.options;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer,
        audience,
        algorithms,
        clockTolerance: clockToleranceS,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw refusal(error, issuer);
    }
    const principal = this.principalOf(payload);
    this.remember(token, principal, (payload.exp ?? 0) * 1000);
    return principal;
  }

  private principalOf(payload: JWTPayload): Principal {
    const subject = payload.sub;
    const problem = identifierProblem(subject, SUBJECT_MAX_LENGTH);
    if (problem || subject === undefined) throw AuthenticationError.invalid(`its sub claim ${problem ?? 'is missing'}`);
    const roles = rolesIn(claimAt(payload, this.options.rolesClaim));
    return { subject, roles, admin: roles.includes(this.options.adminRole) };
  }

  private remember(token: string, principal: Principal, expiresAt: number): void {
    if (this.options.cacheSize === 0) return;
    // Insertion order: the oldest entry goes first when full.
    if (this.verified.size >= this.options.cacheSize) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { principal, expiresAt });
  }

  private async fetchKeys(): Promise<Jwks> {
    const { issuer, production } = this.options;
    const timeout = this.options.fetchTimeoutMs ?? 5000;
    let jwksUrl = this.options.jwksUrl;
    if (!jwksUrl) {
      const discovery = await fetchJson(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, timeout);
      // OIDC Discovery §4.3: the document must name the issuer it was fetched for.
      if (discovery['issuer'] !== issuer)
        throw new Error(`the discovery document of ${issuer} names issuer ${String(discovery['issuer'])}`);
      if (production && discovery['cqrs_development_issuer'] === true) throw new DevelopmentIssuerError(issuer);
      if (typeof discovery['jwks_uri'] !== 'string')
        throw new Error(`the discovery document of ${issuer} has no jwks_uri`);
      jwksUrl = discovery['jwks_uri'];
    }
    const jwks = createRemoteJWKSet(new URL(jwksUrl), {
      timeoutDuration: timeout,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
    });
    await jwks.reload();
    // jose keeps the whole key set document, the development marker included: one fetch.
    if (production && (jwks.jwks() as Record<string, unknown> | undefined)?.['cqrs_development_issuer'] === true)
      throw new DevelopmentIssuerError(issuer);
    return jwks;
  }
}

async function fetchJson(url: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const body: unknown = await response.json();
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new Error(`${url} did not answer a JSON object`);
  return body as Record<string, unknown>;
}

/** Why a token is refused, as the caller may be told; a key-fetch failure is ours (503), not theirs. */
function refusal(error: unknown, issuer: string): Error {
  if (error instanceof errors.JWTExpired) return AuthenticationError.invalid('it has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return AuthenticationError.invalid('it was not issued for this API (aud)');
    if (error.claim === 'iss') return AuthenticationError.invalid(`it was not issued by ${issuer} (iss)`);
    if (error.claim === 'nbf') return AuthenticationError.invalid('it is not valid yet (nbf)');
    return AuthenticationError.invalid(`its ${error.claim} claim is unacceptable (${error.reason})`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return AuthenticationError.invalid('its signature does not verify');
  if (error instanceof errors.JWKSNoMatchingKey)
    return AuthenticationError.invalid('it is signed with a key the issuer does not publish');
  if (error instanceof errors.JOSEAlgNotAllowed)
    return AuthenticationError.invalid('its signature algorithm is not accepted');
  if (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    !(error instanceof errors.JOSEError)
  )
    return new AuthUnavailableError(error);
  return AuthenticationError.invalid('it is not a well-formed signed JWT');
}

/** A claim by its name, or else by a dotted path into nested objects (`realm_access.roles`). */
function claimAt(payload: JWTPayload, name: string): unknown {
  if (name in payload) return payload[name];
  let value: unknown = payload;
  for (const key of name.split('.'))
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

function rolesIn(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  return Array.isArray(value) ? value.filter((role): role is string => typeof role === 'string') : [];
}
