import { parseDevTokenRequest } from './dev-token';

describe('parseDevTokenRequest', () => {
  it('takes a subject and roles', () => {
    expect(parseDevTokenRequest({ sub: 'alice', roles: ['admin'] })).toEqual({ sub: 'alice', roles: ['admin'] });
    expect(parseDevTokenRequest({ sub: 'bob' })).toEqual({ sub: 'bob', roles: [] });
  });

  it.each([
    [null, 'the body must be a JSON object'],
    [['alice'], 'the body must be a JSON object'],
    [{}, 'sub: a user name is required'],
    [{ sub: '  ' }, 'sub: a user name is required'],
    [{ sub: 'alice', roles: 'admin' }, 'roles: must be an array of strings'],
    [{ sub: 'alice', roles: [1] }, 'roles: must be an array of strings'],
    // anything else the issuer would sign (an audience, a lifetime) stays out of the console's reach
    [{ sub: 'alice', aud: 'other', expiresIn: 86400 }, 'unknown field(s) aud, expiresIn'],
  ])('refuses %j', (body, problem) => {
    expect(parseDevTokenRequest(body)).toBe(problem);
  });
});
