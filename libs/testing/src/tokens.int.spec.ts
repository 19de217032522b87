import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { getTestInfra, type TestInfra } from './test-infra';
import { devToken, tamperedToken, untrustedToken } from './tokens';

let oidc: TestInfra['oidc'];
let verify: (token: string) => ReturnType<typeof jwtVerify>;

beforeAll(async () => {
  ({ oidc } = await getTestInfra());
  // As an app does: the keys at the jwks_uri of the issuer's discovery document.
  const discovery = (await (await fetch(`${oidc.issuerUrl}/.well-known/openid-configuration`)).json()) as {
    jwks_uri: string;
  };
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
  verify = (token) =>
    jwtVerify(token, jwks, { issuer: oidc.issuerUrl, audience: oidc.audience, algorithms: ['RS256'] });
});

describe('test tokens', () => {
  it('devToken: an access token of the development issuer that verifies, with the roles asked for', async () => {
    const { payload } = await verify(await devToken('alice', { roles: ['admin'] }));
    expect(payload).toMatchObject({ iss: oidc.issuerUrl, aud: oidc.audience, sub: 'alice', roles: ['admin'] });
  });

  it('devToken: expired when asked for a negative lifetime', async () => {
    await expect(verify(await devToken('alice', { expiresIn: -60 }))).rejects.toBeInstanceOf(errors.JWTExpired);
  });

  it("untrustedToken: the issuer's iss, aud and kid, but a signature that does not verify", async () => {
    const token = await untrustedToken('mallory', { roles: ['admin'] });
    const genuine = await devToken('alice');
    expect(decodeProtectedHeader(token).kid).toBe(decodeProtectedHeader(genuine).kid);
    await expect(verify(token)).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  it('tamperedToken: a genuine token with one payload byte changed no longer verifies', async () => {
    const genuine = await devToken('alice');
    const tampered = tamperedToken(genuine);
    expect(tampered).not.toBe(genuine);
    expect(tampered.split('.')[1]).not.toBe(genuine.split('.')[1]);
    await expect(verify(genuine)).resolves.toBeDefined();
    await expect(verify(tampered)).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });
});
