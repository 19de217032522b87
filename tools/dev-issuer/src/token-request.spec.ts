import { identifierProblem as appsIdentifierProblem } from '@cqrs/util';
import { identifierProblem, MAX_IDENTIFIER_LENGTH, parseTokenRequest } from './token-request.ts';

const problemOf = (body: unknown) => {
  const parsed = parseTokenRequest(body);
  return parsed.ok ? null : parsed.problem;
};

describe('parseTokenRequest', () => {
  it('applies the defaults: no roles, audience cqrs-api, one hour, no nbf', () => {
    expect(parseTokenRequest({ sub: 'alice' })).toEqual({
      ok: true,
      request: { sub: 'alice', roles: [], aud: 'cqrs-api', expiresIn: 3600 },
    });
  });

  it('takes every field, a negative lifetime included', () => {
    expect(
      parseTokenRequest({ sub: 'bob', roles: ['admin', 'ops'], aud: 'other-api', expiresIn: -60, notBefore: 30 }),
    ).toEqual({
      ok: true,
      request: { sub: 'bob', roles: ['admin', 'ops'], aud: 'other-api', expiresIn: -60, notBefore: 30 },
    });
  });

  it('counts code points, not UTF-16 units: 200 emoji are a valid subject', () => {
    expect(problemOf({ sub: '😀'.repeat(MAX_IDENTIFIER_LENGTH) })).toBeNull();
    expect(problemOf({ sub: 'a'.repeat(MAX_IDENTIFIER_LENGTH + 1) })).toBe(
      'sub: must be at most 200 characters (code points)',
    );
  });

  it.each([
    ['a body that is not an object', [], 'body: must be a JSON object'],
    ['null', null, 'body: must be a JSON object'],
    ['a missing sub', {}, 'sub: is required'],
    ['a sub that is not a string', { sub: 42 }, 'sub: must be a string'],
    ['a blank sub', { sub: '  ' }, 'sub: must be non-blank'],
    [
      'a sub with trailing whitespace',
      { sub: 'alice\n' },
      'sub: must be non-blank, without leading or trailing whitespace',
    ],
    ['a control character', { sub: 'ali\u0000ce' }, 'sub: must not contain control characters'],
    ['a lone surrogate', { sub: 'ali\ud800ce' }, 'sub: must be well-formed Unicode'],
    ['roles that are not an array', { sub: 'a', roles: 'admin' }, 'roles: must be an array of strings'],
    ['a role breaking the identifier rule', { sub: 'a', roles: ['ok', ' admin'] }, 'roles.1: must be non-blank'],
    [
      'more than 20 roles',
      { sub: 'a', roles: Array.from({ length: 21 }, (_, i) => `r${i}`) },
      'roles: must hold at most 20 roles',
    ],
    ['a blank audience', { sub: 'a', aud: '' }, 'aud: must be non-blank'],
    ['a fractional lifetime', { sub: 'a', expiresIn: 1.5 }, 'expiresIn: must be a whole number of seconds'],
    ['a lifetime as a string', { sub: 'a', expiresIn: '60' }, 'expiresIn: must be a number of seconds'],
    ['a lifetime beyond a day', { sub: 'a', expiresIn: 86_401 }, 'expiresIn: must be at most 86400 seconds'],
    ['a lifetime before yesterday', { sub: 'a', expiresIn: -86_401 }, 'expiresIn: must be at least -86400 seconds'],
    ['a notBefore beyond a day', { sub: 'a', notBefore: 1e9 }, 'notBefore: must be at most 86400 seconds'],
    ['a misspelt field', { sub: 'a', role: ['admin'] }, 'body: unknown field(s) role'],
  ])('refuses %s, naming the field', (_case, body, problem) => {
    expect(problemOf(body)).toContain(problem);
  });

  it('names every offending field at once', () => {
    expect(problemOf({ sub: '', aud: 7 })).toBe(
      'sub: must be non-blank, without leading or trailing whitespace; aud: must be a string',
    );
  });
});

describe('identifierProblem', () => {
  // The issuer must never sign a subject the apps refuse, nor refuse one they accept.
  it.each([
    ['a plain id', 'alice'],
    ['an email', 'user-42@example.com'],
    ['a non-ASCII letter', 'Zoë'],
    ['200 emoji', '😀'.repeat(200)],
    ['200 letters', 'a'.repeat(200)],
    ['201 letters', 'a'.repeat(201)],
    ['the empty string', ''],
    ['a space', ' '],
    ['a leading space', ' alice'],
    ['a trailing space', 'alice '],
    ['a leading no-break space', '\u00a0alice'],
    ['a trailing byte-order mark', 'alice\ufeff'],
    ['a tab', 'al\tice'],
    ['a C1 control (NEL)', 'al\u0085ice'],
    ['DEL', 'al\u007fice'],
    ['a lone high surrogate', '\ud800'],
    ['a lone low surrogate', 'a\udc00b'],
    ['an emoji, then a lone surrogate', '\ud83d\ude00\ud800'],
  ])('agrees with the apps on %s', (_case, value) => {
    expect(identifierProblem(value) === null).toBe(appsIdentifierProblem(value, MAX_IDENTIFIER_LENGTH) === null);
  });
});
