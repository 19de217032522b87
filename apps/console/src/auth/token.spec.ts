import { decodeClaims, isAdmin, isExpired, normalizeToken, tokenProblem } from './token';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (payload: unknown) => `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(payload)}.c2lnbmF0dXJl`;
const NOW = Date.UTC(2026, 11, 3, 20, 0, 0);

describe('decodeClaims', () => {
  it('reads the subject, roles and expiry', () => {
    expect(decodeClaims(jwt({ sub: 'alice', roles: ['admin', 7], exp: 1_800_000_000 }))).toEqual({
      sub: 'alice',
      roles: ['admin'],
      exp: 1_800_000_000,
    });
  });

  it('reads a subject outside Latin-1', () => {
    expect(decodeClaims(jwt({ sub: 'zoë 🦊' }))?.sub).toBe('zoë 🦊');
  });

  it.each([
    ['two parts', 'abc.def'],
    ['a payload that is not base64 JSON', 'a.%%%.c'],
    ['no subject', jwt({ roles: ['admin'] })],
    ['a payload that is not an object', jwt('alice')],
  ])('is null for %s', (_case, token) => {
    expect(decodeClaims(token)).toBeNull();
  });
});

describe('tokens on the sign-in page', () => {
  it('accepts a live token and refuses an expired or malformed one, saying why', () => {
    expect(tokenProblem(jwt({ sub: 'alice', exp: NOW / 1000 + 60 }), NOW)).toBeNull();
    expect(tokenProblem(jwt({ sub: 'alice', exp: NOW / 1000 - 1 }), NOW)).toBe(
      'This token has expired. Get a new one.',
    );
    expect(tokenProblem('', NOW)).toBe('Paste an access token.');
    expect(tokenProblem('hello', NOW)).toMatch(/not a JWT/);
  });

  it('tolerates a pasted "Bearer " prefix and surrounding whitespace', () => {
    expect(normalizeToken('  Bearer abc.def.ghi\n')).toBe('abc.def.ghi');
  });

  it('leaves a token without exp to the services, and knows the admin role', () => {
    expect(isExpired({ sub: 'a', roles: [] }, NOW)).toBe(false);
    expect(isAdmin({ sub: 'a', roles: ['admin'] })).toBe(true);
    expect(isAdmin({ sub: 'a', roles: ['administrator'] })).toBe(false);
  });
});
