import { devToken, freePort, getTestInfra, tamperedToken, untrustedToken } from '@cqrs/testing';
import { connect, createServer, type Socket } from 'node:net';
import { AuthenticationError, AuthUnavailableError, DevelopmentIssuerError } from './auth.errors';
import { TokenVerifier, type TokenVerifierOptions } from './token-verifier';

// The verifier against the stack's real development issuer (discovery, JWKS over HTTP, RS256).
describe('TokenVerifier', () => {
  let options: TokenVerifierOptions;

  beforeAll(async () => {
    const { oidc } = await getTestInfra();
    options = {
      issuer: oidc.issuerUrl,
      audience: oidc.audience,
      algorithms: ['RS256', 'ES256'],
      clockToleranceS: 0,
      rolesClaim: 'roles',
      adminRole: 'admin',
      cacheSize: 100,
      production: false,
    };
  });

  const refusal = async (verifier: TokenVerifier, header: string | undefined) => {
    const error = await verifier.verify(header).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    return error as AuthenticationError;
  };

  it('accepts a token of the issuer: subject, roles, admin', async () => {
    const verifier = new TokenVerifier(options);
    expect(await verifier.verify(`Bearer ${await devToken('alice')}`)).toEqual({
      subject: 'alice',
      roles: [],
      admin: false,
    });
    expect(await verifier.verify(`bearer  ${await devToken('root', { roles: ['admin', 'ops'] })}`)).toEqual({
      subject: 'root',
      roles: ['admin', 'ops'],
      admin: true,
    });
    expect(verifier.loaded).toBe(true);
  });

  it.each([
    ['no header', 'AUTHENTICATION_REQUIRED', undefined],
    ['a blank header', 'AUTHENTICATION_REQUIRED', '  '],
    ['Basic credentials', 'AUTHENTICATION_REQUIRED', 'Basic YWxpY2U6c2VjcmV0'],
    ['a bearer scheme without a token', 'INVALID_TOKEN', 'Bearer'],
    ['two tokens', 'INVALID_TOKEN', 'Bearer a.b.c d.e.f'],
    ['a token that is not a JWT', 'INVALID_TOKEN', 'Bearer not-a-jwt'],
  ])('refuses %s: %s', async (_name, code, header) => {
    expect((await refusal(new TokenVerifier(options), header)).code).toBe(code);
  });

  it.each([
    ['expired', () => devToken('alice', { expiresIn: -60 }), /expired/],
    ['for another audience', () => devToken('alice', { audience: 'another-api' }), /aud/],
    ['signed by a key the issuer never published', () => untrustedToken('alice'), /signature/],
    ['with a tampered payload', async () => tamperedToken(await devToken('alice')), /signature/],
  ])('refuses a token %s, saying why', async (_name, token, reason) => {
    const error = await refusal(new TokenVerifier(options), `Bearer ${await token()}`);
    expect([error.code, error.message]).toEqual(['INVALID_TOKEN', expect.stringMatching(reason)]);
    expect(error.headers['WWW-Authenticate']).toMatch(/^Bearer realm="api", error="invalid_token"/);
  });

  it('refuses a token of another issuer (iss) even when the keys match', async () => {
    const { oidc } = await getTestInfra();
    const verifier = new TokenVerifier({ ...options, issuer: `${oidc.issuerUrl}/`, jwksUrl: `${oidc.issuerUrl}/jwks` });
    expect((await refusal(verifier, `Bearer ${await devToken('alice')}`)).message).toMatch(/iss/);
  });

  it('forgets a remembered token when it expires', async () => {
    const verifier = new TokenVerifier(options);
    const header = `Bearer ${await devToken('alice', { expiresIn: 2 })}`;
    expect((await verifier.verify(header)).subject).toBe('alice');
    await new Promise((r) => setTimeout(r, 2200));
    expect((await refusal(verifier, header)).message).toMatch(/expired/);
  });

  it('in production, refuses the development issuer when loading its keys and on every request', async () => {
    const verifier = new TokenVerifier({ ...options, production: true });
    await expect(verifier.load()).rejects.toBeInstanceOf(DevelopmentIssuerError);
    await expect(verifier.verify(`Bearer ${await devToken('alice')}`)).rejects.toBeInstanceOf(DevelopmentIssuerError);
    // Also when the key set is configured directly, without discovery.
    const direct = new TokenVerifier({ ...options, production: true, jwksUrl: `${options.issuer}/jwks` });
    await expect(direct.load()).rejects.toThrow(/refusing to start: NODE_ENV=production/);
  });

  it('answers 503 AUTH_UNAVAILABLE while the issuer cannot be reached, and recovers once it can', async () => {
    // The keys behind a TCP relay that is not there yet, then is.
    const port = await freePort();
    const verifier = new TokenVerifier({ ...options, jwksUrl: `http://127.0.0.1:${port}/jwks`, fetchTimeoutMs: 1000 });
    const header = `Bearer ${await devToken('alice')}`;
    const error = await verifier.verify(header).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthUnavailableError);
    expect(error).toMatchObject({ code: 'AUTH_UNAVAILABLE', kind: 'unavailable', headers: { 'Retry-After': '5' } });
    expect(verifier.loaded).toBe(false);
    const issuer = new URL(options.issuer);
    const sockets = new Set<Socket>();
    const relay = createServer((client) => {
      const upstream = connect(Number(issuer.port), issuer.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve));
    try {
      expect((await verifier.verify(header)).subject).toBe('alice');
      expect(verifier.loaded).toBe(true);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => relay.close(resolve));
    }
  });
});
