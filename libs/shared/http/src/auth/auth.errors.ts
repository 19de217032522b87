/**
 * Errors of bearer authentication, coded like every error here (the ProblemDetailsFilter maps
 * `kind` to the status and sends `headers`). RFC 6750 §3: a 401 names the scheme in
 * WWW-Authenticate, with `error="invalid_token"` when a token was sent but is not acceptable.
 */
export class AuthenticationError extends Error {
  readonly kind = 'unauthenticated';
  readonly headers: Record<string, string>;

  private constructor(
    readonly code: 'AUTHENTICATION_REQUIRED' | 'INVALID_TOKEN',
    message: string,
  ) {
    super(message);
    this.name = 'AuthenticationError';
    const challenge =
      code === 'INVALID_TOKEN' ? `, error="invalid_token", error_description="${message.replace(/["\\]/g, "'")}"` : '';
    this.headers = { 'WWW-Authenticate': `Bearer realm="api"${challenge}` };
  }

  /** No `Authorization: Bearer <token>` at all. */
  static required(): AuthenticationError {
    return new AuthenticationError(
      'AUTHENTICATION_REQUIRED',
      'This API needs a bearer token: send Authorization: Bearer <access token>',
    );
  }

  /** A token was sent and refused; `reason` says why (expired, signature, audience...). */
  static invalid(reason: string): AuthenticationError {
    return new AuthenticationError('INVALID_TOKEN', `The bearer token is not valid: ${reason}`);
  }
}

/** The issuer's signing keys cannot be fetched, so no token can be checked now: 503, retry later. */
export class AuthUnavailableError extends Error {
  readonly code = 'AUTH_UNAVAILABLE';
  readonly kind = 'unavailable';
  readonly headers = { 'Retry-After': '5' };

  constructor(cause: unknown) {
    super('The token issuer’s signing keys cannot be fetched now; retry shortly', { cause });
    this.name = 'AuthUnavailableError';
  }
}

/** A caller went over its request budget: 429 with Retry-After (seconds until the window frees up). */
export class RateLimitedError extends Error {
  readonly code = 'RATE_LIMITED';
  readonly kind = 'rate_limited';
  readonly headers: Record<string, string>;

  constructor(retryAfterSeconds: number, limit: number, windowMs: number) {
    super(
      `Over the limit of ${limit} requests per ${windowMs / 1000} s for this caller; retry after ${retryAfterSeconds} s`,
    );
    this.name = 'RateLimitedError';
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

/** The app is configured for production with the development issuer `npm start` runs. */
export class DevelopmentIssuerError extends Error {
  constructor(issuer: string) {
    super(
      `refusing to start: NODE_ENV=production, but the token issuer ${issuer} declares itself a development issuer ` +
        '(its keys are on a developer machine). Set OIDC_ISSUER_URL (and OIDC_AUDIENCE) to your identity provider.',
    );
    this.name = 'DevelopmentIssuerError';
  }
}
