import { env } from '@cqrs/config';
import { z } from 'zod';

/**
 * Environment of an app that authenticates callers with OAuth 2.0 / OpenID Connect bearer tokens
 * (JWT access tokens) and limits each caller's rate. The defaults are `npm start`'s development
 * issuer (tools/dev-issuer); a deployment sets its provider's issuer and audience.
 */
export const authConfig = () => ({
  /** `production` refuses the development issuer. */
  NODE_ENV: env.string('development'),
  /** The issuer identifier, exactly as in the tokens' `iss` claim and the discovery document. */
  OIDC_ISSUER_URL: env.url('http://127.0.0.1:8090'),
  /** The audience this API is (the tokens' `aud` must contain it). */
  OIDC_AUDIENCE: env.string('cqrs-api'),
  /** Where to fetch the signing keys; unset: the `jwks_uri` of the issuer's discovery document. */
  OIDC_JWKS_URL: z.string().url().optional(),
  /** Signature algorithms accepted; anything else (including `none`) is refused. */
  OIDC_ALGORITHMS: env.list('RS256,PS256,ES256,EdDSA'),
  /** Leeway for `exp`/`nbf`/`iat` against clock skew between the issuer and this app (seconds). */
  OIDC_CLOCK_TOLERANCE_S: env.int(30, 0),
  /**
   * The claim holding the caller's roles: a top-level name (`roles`, Auth0's
   * `https://example.com/roles`) or a dotted path (Keycloak's `realm_access.roles`). An array of
   * strings, or one space-separated string.
   */
  AUTH_ROLES_CLAIM: env.string('roles'),
  /** The role that may read every user's tasks. */
  AUTH_ADMIN_ROLE: env.string('admin'),
  /** Verified tokens remembered (by their exact text, until they expire); 0: verify every request. */
  AUTH_TOKEN_CACHE_SIZE: env.int(10_000, 0),
  /** Put the caller's subject on spans (`enduser.id`); off by default, as it is personal data. */
  AUTH_TRACE_SUBJECT: env.bool(false),
  /** Requests each subject may make per RATE_LIMIT_WINDOW_MS on the API; 0 turns limiting off. */
  RATE_LIMIT_REQUESTS: env.int(1200, 0),
  RATE_LIMIT_WINDOW_MS: env.int(60_000, 1),
});

/** The validated settings of {@link authConfig}. */
export type AuthConfig = z.infer<z.ZodObject<ReturnType<typeof authConfig>>>;
