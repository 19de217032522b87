import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWK } from 'jose';
import { createIssuer, type Issuer } from './issuer.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Verifies a token the way an app does: discovery, then the keys at its jwks_uri. */
async function verify(issuerUrl: string, token: string, audience = 'cqrs-api') {
  const discovery = (await (await fetch(`${issuerUrl}/.well-known/openid-configuration`)).json()) as {
    jwks_uri: string;
  };
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
  return jwtVerify(token, jwks, { issuer: issuerUrl, audience, algorithms: ['RS256'], typ: 'at+jwt' });
}

const postToken = (issuer: Issuer, body: unknown, contentType = 'application/json') =>
  fetch(`${issuer.url}/token`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });

async function tokenFor(issuer: Issuer, body: unknown): Promise<string> {
  const response = await postToken(issuer, body);
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

const stateDirs: string[] = [];
const newStateDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'dev-issuer-'));
  stateDirs.push(dir);
  return dir;
};
afterAll(() => stateDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('a running issuer', () => {
  let issuer: Issuer;
  beforeAll(async () => {
    issuer = await createIssuer({ development: true });
  });
  afterAll(() => issuer.close());

  it('publishes an OIDC discovery document marked as a development issuer', async () => {
    const response = await fetch(`${issuer.url}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      issuer: issuer.url,
      jwks_uri: `${issuer.url}/jwks`,
      token_endpoint: `${issuer.url}/token`,
      response_types_supported: ['token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
      cqrs_development_issuer: true,
    });
  });

  it('publishes its one public RS256 key, kid = RFC 7638 thumbprint, cacheable for five minutes', async () => {
    const response = await fetch(`${issuer.url}/jwks`);
    expect(response.headers.get('cache-control')).toBe('max-age=300');
    const body = (await response.json()) as { keys: JWK[]; cqrs_development_issuer: boolean };
    expect(body.cqrs_development_issuer).toBe(true);
    expect(body.keys).toHaveLength(1);
    const [key] = body.keys as [JWK];
    expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']); // no private member
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: issuer.kid });
    expect(key.kid).toBe(await calculateJwkThumbprint({ kty: 'RSA', n: key.n, e: key.e }, 'sha256'));
  });

  it('signs an RFC 9068 access token that verifies with the right iss, aud, sub and roles', async () => {
    const response = await postToken(issuer, { sub: 'alice', roles: ['admin', 'ops'] });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });

    const { payload, protectedHeader } = await verify(issuer.url, body.access_token);
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: issuer.kid, typ: 'at+jwt' });
    expect(payload).toMatchObject({
      iss: issuer.url,
      sub: 'alice',
      aud: 'cqrs-api',
      client_id: 'cqrs-dev',
      roles: ['admin', 'ops'],
    });
    expect(payload.jti).toMatch(UUID);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
    expect(Math.abs((payload.iat ?? 0) - Date.now() / 1000)).toBeLessThan(5);
    expect(payload.nbf).toBeUndefined();
  });

  it('gives every token its own jti, and an empty roles claim when none are asked for', async () => {
    const [a, b] = await Promise.all([tokenFor(issuer, { sub: 'bob' }), tokenFor(issuer, { sub: 'bob' })]);
    const [pa, pb] = await Promise.all([verify(issuer.url, a), verify(issuer.url, b)]);
    expect(pa.payload.jti).not.toBe(pb.payload.jti);
    expect(pa.payload['roles']).toEqual([]);
  });

  it('signs for the audience asked, which an app of another audience refuses', async () => {
    const token = await tokenFor(issuer, { sub: 'carol', aud: 'reports-api', expiresIn: 60 });
    await expect(verify(issuer.url, token, 'reports-api')).resolves.toMatchObject({ payload: { aud: 'reports-api' } });
    await expect(verify(issuer.url, token)).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'aud',
    });
  });

  it('makes an already expired token for a negative expiresIn, which jose rejects as expired', async () => {
    const response = await postToken(issuer, { sub: 'dave', expiresIn: -60 });
    expect(await response.clone().json()).toMatchObject({ expires_in: -60 });
    const { access_token } = (await response.json()) as { access_token: string };
    await expect(verify(issuer.url, access_token)).rejects.toBeInstanceOf(errors.JWTExpired);
  });

  it('makes a not-yet-valid token for a positive notBefore', async () => {
    const token = await tokenFor(issuer, { sub: 'erin', notBefore: 600 });
    await expect(verify(issuer.url, token)).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'nbf',
    });
  });

  it('signs in-process exactly as over HTTP', async () => {
    const { access_token } = await issuer.issue({ sub: 'frank', roles: ['admin'] });
    await expect(verify(issuer.url, access_token)).resolves.toMatchObject({
      payload: { sub: 'frank', roles: ['admin'] },
    });
    await expect(issuer.issue({ sub: ' frank' })).rejects.toThrow('invalid token request: sub: must be non-blank');
  });

  describe('refuses bad input with 400 invalid_request naming what is wrong, and keeps serving', () => {
    it.each([
      ['malformed JSON', '{"sub": "alice"', 'application/json', 'body is not valid JSON'],
      ['a JSON array', '["alice"]', 'application/json', 'body: must be a JSON object'],
      ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]), 'application/json', 'body must be UTF-8'],
      [
        'a text body',
        'sub=alice',
        'text/plain',
        'content-type must be application/json (a development token) or application/x-www-form-urlencoded',
      ],
      [
        'a charset other than UTF-8',
        '{"sub":"alice"}',
        'application/json; charset=iso-8859-1',
        'content-type charset must be utf-8',
      ],
      [
        'a body over 16 KiB',
        JSON.stringify({ sub: 'alice', pad: 'x'.repeat(16 * 1024) }),
        'application/json',
        'body must be at most 16384 bytes',
      ],
      ['no sub', '{}', 'application/json', 'sub: is required'],
      [
        'a sub with a control character',
        '{"sub":"al\\u0000ice"}',
        'application/json',
        'sub: must not contain control characters',
      ],
      [
        'a sub with surrounding whitespace',
        '{"sub":" alice"}',
        'application/json',
        'sub: must be non-blank, without leading or trailing whitespace',
      ],
      [
        'a sub over 200 code points',
        JSON.stringify({ sub: 'a'.repeat(201) }),
        'application/json',
        'sub: must be at most 200 characters',
      ],
      [
        'a role that is not a string',
        '{"sub":"alice","roles":["admin",7]}',
        'application/json',
        'roles.1: must be a string',
      ],
      [
        '21 roles',
        JSON.stringify({ sub: 'alice', roles: Array.from({ length: 21 }, (_, i) => `r${i}`) }),
        'application/json',
        'roles: must hold at most 20 roles',
      ],
      ['a blank audience', '{"sub":"alice","aud":" "}', 'application/json', 'aud: must be non-blank'],
      [
        'a fractional expiresIn',
        '{"sub":"alice","expiresIn":1.5}',
        'application/json',
        'expiresIn: must be a whole number of seconds',
      ],
      [
        'an expiresIn beyond a day',
        '{"sub":"alice","expiresIn":86401}',
        'application/json',
        'expiresIn: must be at most 86400 seconds',
      ],
      ['an unknown field', '{"sub":"alice","role":"admin"}', 'application/json', 'body: unknown field(s) role'],
    ])('%s', async (_case, body, contentType, description) => {
      const response = await postToken(issuer, body, contentType);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/json');
      const answer = (await response.json()) as { error: string; error_description: string };
      expect(answer.error).toBe('invalid_request');
      expect(answer.error_description).toContain(description);
    });

    it('a request without a content type', async () => {
      const response = await fetch(`${issuer.url}/token`, {
        method: 'POST',
        body: new Uint8Array(Buffer.from('{"sub":"alice"}')),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: 'invalid_request',
        error_description:
          'content-type must be application/json (a development token) or application/x-www-form-urlencoded (the client_credentials grant)',
      });
    });

    it('a declared 1 GiB body, refused before it is read', async () => {
      const answer = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
        const req = request(
          `${issuer.url}/token`,
          { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(2 ** 30) } },
          (res) => {
            let body = '';
            res.on('data', (chunk) => (body += chunk));
            res.on('end', () => {
              req.destroy();
              resolve({ status: res.statusCode, body });
            });
          },
        );
        req.on('error', reject);
        req.write('{"sub":"');
      });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toMatchObject({ error_description: 'body must be at most 16384 bytes' });
    });

    it('a chunked 1 MiB body, with no length declared', async () => {
      const chunk = new Uint8Array(64 * 1024).fill(0x20);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 16; i++) controller.enqueue(chunk);
          controller.close();
        },
      });
      const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' };
      const response = await fetch(`${issuer.url}/token`, init as RequestInit);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error_description: 'body must be at most 16384 bytes' });
    });

    afterAll(async () => {
      expect((await fetch(`${issuer.url}/jwks`)).status).toBe(200);
    });
  });

  it('answers 404 for an unknown path', async () => {
    const response = await fetch(`${issuer.url}/authorize`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'not_found' });
  });

  it.each([
    ['GET', '/token', 'POST'],
    ['DELETE', '/jwks', 'GET, HEAD'],
    ['POST', '/.well-known/openid-configuration', 'GET, HEAD'],
  ])('answers 405 with Allow for %s %s', async (method, path, allow) => {
    const response = await fetch(`${issuer.url}${path}`, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe(allow);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('the signing key', () => {
  it('is persisted (0600 in a 0700 folder) and survives a restart: same kid, earlier tokens still verify', async () => {
    const stateDir = newStateDir();
    const first = await createIssuer({ development: true, stateDir });
    const token = await tokenFor(first, { sub: 'alice' });
    const { kid, port, url } = first;
    await first.close();

    expect(first.keyFile).toBe(join(stateDir, 'dev-issuer', 'signing-key.json'));
    expect(statSync(join(stateDir, 'dev-issuer')).mode & 0o777).toBe(0o700);
    expect(statSync(join(stateDir, 'dev-issuer', 'signing-key.json')).mode & 0o777).toBe(0o600);

    const second = await createIssuer({ development: true, stateDir, port });
    try {
      expect(second.kid).toBe(kid);
      expect(decodeProtectedHeader(token).kid).toBe(kid);
      await expect(verify(url, token)).resolves.toMatchObject({ payload: { sub: 'alice' } });
    } finally {
      await second.close();
    }
  });

  it('is another one in another state dir, and without one: tokens of one issuer do not verify against the other', async () => {
    const [a, b, inMemory] = await Promise.all([
      createIssuer({ development: true, stateDir: newStateDir() }),
      createIssuer({ development: true, stateDir: newStateDir(), issuerUrl: 'http://issuer.test' }),
      createIssuer({ development: true }),
    ]);
    try {
      expect(new Set([a.kid, b.kid, inMemory.kid]).size).toBe(3);
      expect(inMemory.keyFile).toBeUndefined();
      const forged = await tokenFor(a, { sub: 'alice' });
      // b's keys, a's token (and a's issuer name, so the signature is what fails)
      const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${b.port}/jwks`));
      await expect(jwtVerify(forged, jwks, { issuer: a.url })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    } finally {
      await Promise.all([a.close(), b.close(), inMemory.close()]);
    }
  });

  it('refuses to start on an unusable key file, saying which file and what to do', async () => {
    const stateDir = newStateDir();
    await (await createIssuer({ development: true, stateDir })).close();
    writeFileSync(join(stateDir, 'dev-issuer', 'signing-key.json'), '{"kty":"RSA"');
    await expect(createIssuer({ development: true, stateDir })).rejects.toThrow(
      `the signing key ${join(stateDir, 'dev-issuer', 'signing-key.json')} is unusable (it is not JSON); delete it and a new key is generated on the next start`,
    );
  });
});

describe('a production-like issuer (development: false)', () => {
  it('says so in its discovery document and key set, for tests of apps in production mode', async () => {
    const issuer = await createIssuer({ development: false });
    try {
      const discovery = (await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json()) as Record<
        string,
        unknown
      >;
      const jwks = (await (await fetch(`${issuer.url}/jwks`)).json()) as Record<string, unknown>;
      expect([discovery['cqrs_development_issuer'], jwks['cqrs_development_issuer']]).toEqual([false, false]);
      const { access_token } = await issuer.issue({ sub: 'alice' });
      await expect(verify(issuer.url, access_token)).resolves.toMatchObject({ payload: { iss: issuer.url } });
    } finally {
      await issuer.close();
    }
  });
});

describe('the issuer identifier', () => {
  it('is the configured URL, without its trailing slash, whatever the listening address', async () => {
    const issuer = await createIssuer({ development: true, host: '127.0.0.1', issuerUrl: 'http://issuer.test:8090/' });
    try {
      expect(issuer.url).toBe('http://issuer.test:8090');
      const discovery = (await (
        await fetch(`http://127.0.0.1:${issuer.port}/.well-known/openid-configuration`)
      ).json()) as Record<string, unknown>;
      expect(discovery).toMatchObject({ issuer: 'http://issuer.test:8090', jwks_uri: 'http://issuer.test:8090/jwks' });
    } finally {
      await issuer.close();
    }
  });

  it.each(['not a url', 'ftp://issuer.test', 'http://issuer.test/?tenant=1', 'http://user:pw@issuer.test'])(
    'refuses %j before listening',
    async (issuerUrl) => {
      await expect(createIssuer({ development: true, issuerUrl })).rejects.toThrow(
        /the issuer URL .* (is not a URL|must be http\(s\))/,
      );
    },
  );
});
