import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { CLIENT_AUDIENCE, CLIENT_TOKEN_TTL_S } from './clients.ts';
import { createIssuer, type Issuer } from './issuer.ts';

const FORM = 'application/x-www-form-urlencoded';
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** POST /token with a form body (and an Authorization header, if given). */
const grant = (issuer: Issuer, form: Record<string, string> | string, authorization?: string, path = '/token') =>
  fetch(`${issuer.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': FORM, ...(authorization ? { authorization } : {}) },
    body: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
  });

/** Verifies a token as the schema registry does: the issuer's keys, its name, the registry audience. */
async function verifyForRegistry(issuer: Issuer, token: string) {
  const jwks = createRemoteJWKSet(new URL(`${issuer.url}/jwks`));
  return jwtVerify(token, jwks, {
    issuer: issuer.url,
    audience: CLIENT_AUDIENCE,
    algorithms: ['RS256'],
    typ: 'at+jwt',
  });
}

async function tokenOf(response: Response): Promise<string> {
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

const secrets = mkdtempSync(join(tmpdir(), 'dev-issuer-secrets-'));
const secretOf = (id: string) => `secret-of-${id}-0123456789`;
for (const id of ['cqrs-admin', 'cqrs-command', 'cqrs-projector'])
  writeFileSync(join(secrets, `registry-${id}.password`), secretOf(id), { mode: 0o600 });
writeFileSync(join(secrets, 'registry-cqrs-empty.password'), '\n', { mode: 0o600 });
writeFileSync(join(secrets, 'registry-cqrs-newline.password'), `${secretOf('cqrs-newline')}\n`, { mode: 0o600 });

let issuer: Issuer;
beforeAll(async () => {
  issuer = await createIssuer({
    development: true,
    secretsDir: secrets,
    clients: [{ id: 'tool', secret: 'a secret: with % and spaces', roles: ['sr-developer', 'ops'] }],
  });
});
afterAll(async () => {
  await issuer.close();
  rmSync(secrets, { recursive: true, force: true });
});

describe('the client_credentials grant (RFC 6749 §4.4)', () => {
  it('signs a short-lived token for a client authenticating with HTTP basic: sub and client_id the client, aud the registry', async () => {
    const response = await grant(
      issuer,
      { grant_type: 'client_credentials' },
      basic('cqrs-admin', secretOf('cqrs-admin')),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: CLIENT_TOKEN_TTL_S });
    expect(CLIENT_TOKEN_TTL_S).toBe(300);

    const { payload, protectedHeader } = await verifyForRegistry(issuer, body['access_token'] as string);
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: issuer.kid, typ: 'at+jwt' });
    expect(payload).toMatchObject({
      iss: issuer.url,
      sub: 'cqrs-admin',
      client_id: 'cqrs-admin',
      aud: CLIENT_AUDIENCE,
      roles: ['sr-admin'],
    });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
  });

  it('accepts the credentials in the body (client_secret_post), as Apicurio Registry sends them, also at /token/', async () => {
    const form = {
      grant_type: 'client_credentials',
      client_id: 'cqrs-projector',
      client_secret: secretOf('cqrs-projector'),
    };
    const token = await tokenOf(await grant(issuer, form, undefined, '/token/'));
    await expect(verifyForRegistry(issuer, token)).resolves.toMatchObject({ payload: { sub: 'cqrs-projector' } });
  });

  it.each([
    ['cqrs-admin', ['sr-admin']],
    ['cqrs-command', ['sr-readonly']],
    ['cqrs-projector', ['sr-readonly']],
  ])('gives %s the registry roles %j', async (id, roles) => {
    const token = await tokenOf(await grant(issuer, { grant_type: 'client_credentials' }, basic(id, secretOf(id))));
    expect(decodeJwt(token)['roles']).toEqual(roles);
  });

  it('reads a secret file without its trailing newline, and takes clients given in code with their roles', async () => {
    await tokenOf(
      await grant(issuer, { grant_type: 'client_credentials' }, basic('cqrs-newline', secretOf('cqrs-newline'))),
    );
    // RFC 6749 §2.3.1: id and secret are form-urlencoded inside the basic header
    const token = await tokenOf(
      await grant(
        issuer,
        { grant_type: 'client_credentials', scope: 'ignored' },
        basic('tool', 'a secret: with % and spaces'),
      ),
    );
    expect(decodeJwt(token)).toMatchObject({ sub: 'tool', roles: ['sr-developer', 'ops'] });
  });

  it('applies a secret rotated on disk at the next request', async () => {
    const file = join(secrets, 'registry-cqrs-rotating.password');
    writeFileSync(file, 'first-secret', { mode: 0o600 });
    await tokenOf(await grant(issuer, { grant_type: 'client_credentials' }, basic('cqrs-rotating', 'first-secret')));
    writeFileSync(file, 'second-secret', { mode: 0o600 });
    expect(
      (await grant(issuer, { grant_type: 'client_credentials' }, basic('cqrs-rotating', 'first-secret'))).status,
    ).toBe(401);
    await tokenOf(await grant(issuer, { grant_type: 'client_credentials' }, basic('cqrs-rotating', 'second-secret')));
  });

  describe('refuses a client that does not authenticate with 401 invalid_client, the same answer whatever the reason', () => {
    it.each([
      ['a wrong secret', basic('cqrs-admin', 'not-the-secret'), {}],
      ['a wrong secret in the body', undefined, { client_id: 'cqrs-admin', client_secret: 'not-the-secret' }],
      ["another client's secret", basic('cqrs-admin', secretOf('cqrs-command')), {}],
      ['an unknown client', basic('cqrs-nobody', 'whatever'), {}],
      ['a client whose secret file is empty', basic('cqrs-empty', ''), {}],
      ['an id reaching out of the secrets folder', basic('../registry-cqrs-admin', secretOf('cqrs-admin')), {}],
      ['an empty secret', basic('cqrs-admin', ''), {}],
    ])('%s', async (_case, authorization, extra) => {
      const response = await grant(issuer, { grant_type: 'client_credentials', ...extra }, authorization);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Basic realm="dev-issuer"');
      expect(await response.json()).toEqual({
        error: 'invalid_client',
        error_description: 'client authentication failed',
      });
    });

    it('no credentials at all (a public client_id alone included)', async () => {
      const forms: Record<string, string>[] = [
        { grant_type: 'client_credentials' },
        { grant_type: 'client_credentials', client_id: 'cqrs-admin' },
      ];
      for (const form of forms) {
        const response = await grant(issuer, form);
        expect(response.status).toBe(401);
        expect(await response.json()).toMatchObject({
          error: 'invalid_client',
          error_description: expect.stringContaining('client authentication is required'),
        });
      }
    });
  });

  it.each([
    ['no grant_type', {}, basic('cqrs-admin', secretOf('cqrs-admin')), 'invalid_request', 'grant_type is required'],
    [
      'another grant',
      { grant_type: 'password', username: 'a', password: 'b' },
      basic('cqrs-admin', secretOf('cqrs-admin')),
      'unsupported_grant_type',
      'grant_type password is not supported',
    ],
    [
      'two authentication methods',
      { grant_type: 'client_credentials', client_id: 'cqrs-admin', client_secret: secretOf('cqrs-admin') },
      basic('cqrs-admin', secretOf('cqrs-admin')),
      'invalid_request',
      'use one client authentication method',
    ],
    [
      'a body client_id naming another client',
      { grant_type: 'client_credentials', client_id: 'cqrs-command' },
      basic('cqrs-admin', secretOf('cqrs-admin')),
      'invalid_request',
      'client_id in the body is not the client',
    ],
    [
      'a repeated parameter',
      'grant_type=client_credentials&grant_type=client_credentials',
      basic('cqrs-admin', secretOf('cqrs-admin')),
      'invalid_request',
      'parameter grant_type is repeated',
    ],
  ])('refuses %s with 400 %s', async (_case, form, authorization, error, description) => {
    const response = await grant(issuer, form, authorization);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; error_description: string };
    expect(body.error).toBe(error);
    expect(body.error_description).toContain(description);
  });

  it('announces the grant and the client authentication methods in discovery', async () => {
    const discovery = (await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(discovery).toMatchObject({
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    });
  });
});

describe('the registry audience', () => {
  it('is not for the unauthenticated development tokens, over HTTP or in-process', async () => {
    const response = await fetch(`${issuer.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sub: 'mallory', roles: ['sr-admin'], aud: CLIENT_AUDIENCE }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringContaining(`aud: ${CLIENT_AUDIENCE} is only for the client_credentials grant`),
    });
    await expect(issuer.issue({ sub: 'mallory', aud: CLIENT_AUDIENCE })).rejects.toThrow(
      `invalid token request: aud: ${CLIENT_AUDIENCE} is only for`,
    );
  });

  it('is not that of a development token, which the registry therefore refuses', async () => {
    const { access_token } = await issuer.issue({ sub: 'mallory', roles: ['sr-admin'] });
    await expect(verifyForRegistry(issuer, access_token)).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'aud',
    });
  });
});

describe('an issuer without confidential clients', () => {
  it('refuses every client', async () => {
    const bare = await createIssuer({ development: true });
    try {
      const response = await grant(
        bare,
        { grant_type: 'client_credentials' },
        basic('cqrs-admin', secretOf('cqrs-admin')),
      );
      expect(response.status).toBe(401);
    } finally {
      await bare.close();
    }
  });
});
