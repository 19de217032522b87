import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { getTestInfra } from './test-infra';

export interface TokenOptions {
  /** The `roles` claim. @default [] */
  roles?: string[];
  /** The `aud` claim. @default the test infrastructure's audience (OIDC_AUDIENCE) */
  audience?: string;
  /** Seconds until `exp`; negative for an already expired token. @default 3600 */
  expiresIn?: number;
}

/**
 * An access token for `subject` from the development issuer of {@link getTestInfra} (tools/dev-issuer),
 * the kind `npm run token` prints: what a test sends as `Authorization: Bearer <token>`.
 */
export async function devToken(subject: string, options: TokenOptions = {}): Promise<string> {
  const { oidc } = await getTestInfra();
  const body = {
    sub: subject,
    roles: options.roles,
    aud: options.audience ?? oidc.audience,
    expiresIn: options.expiresIn,
  };
  let response: Response;
  try {
    response = await fetch(`${oidc.issuerUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new Error(
      `the development issuer at ${oidc.issuerUrl} does not answer (is the stack up?): ${(error as Error).message}`,
    );
  }
  const answer = (await response.json().catch(() => ({}))) as { access_token?: unknown; error_description?: unknown };
  if (!response.ok || typeof answer.access_token !== 'string') {
    throw new Error(
      `the development issuer at ${oidc.issuerUrl} refused a token for ${subject}: ${response.status} ${String(answer.error_description ?? '')}`,
    );
  }
  return answer.access_token;
}

// One key per test process is enough: it only has to be one the issuer never published.
let untrustedKey: KeyObject | undefined;

/**
 * A token with the claims {@link devToken} would carry (right `iss`, `aud`, a current `exp`) and
 * the `kid` of the issuer's real key, but signed by a key the issuer never published: an app must
 * refuse it because its signature does not verify, the check a forger meets.
 */
export async function untrustedToken(subject: string, options: TokenOptions = {}): Promise<string> {
  const { oidc } = await getTestInfra();
  const jwks = (await (await fetch(`${oidc.issuerUrl}/jwks`, { signal: AbortSignal.timeout(10_000) })).json()) as {
    keys: { kid: string }[];
  };
  untrustedKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', kid: jwks.keys[0]?.kid, typ: 'at+jwt' };
  const claims = {
    iss: oidc.issuerUrl,
    sub: subject,
    aud: options.audience ?? oidc.audience,
    iat: now,
    exp: now + (options.expiresIn ?? 3600),
    jti: randomUUID(),
    client_id: 'cqrs-dev',
    roles: options.roles ?? [],
  };
  const signingInput = `${base64url(header)}.${base64url(claims)}`;
  // RSASSA-PKCS1-v1_5 with SHA-256 is RS256. node:crypto rather than jose: every test importing
  // @cqrs/testing loads this module, and jose is ESM-only, which Jest can only load transformed.
  return `${signingInput}.${sign('sha256', Buffer.from(signingInput), untrustedKey).toString('base64url')}`;
}

/**
 * `token` with one byte of its payload changed (a digit of `iat`): still well-formed, unexpired
 * and claiming the same subject, so only the signature check can tell.
 */
export function tamperedToken(token: string): string {
  const [header, payload, signature] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined)
    throw new Error('tamperedToken: not a JWS compact token');
  const json = Buffer.from(payload, 'base64url').toString('utf8');
  const tampered = json.replace(
    /("iat":\d*)(\d)/,
    (_match, head: string, digit: string) => `${head}${(Number(digit) + 1) % 10}`,
  );
  if (tampered === json) throw new Error('tamperedToken: the token has no iat claim');
  return `${header}.${Buffer.from(tampered).toString('base64url')}.${signature}`;
}

const base64url = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
