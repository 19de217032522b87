import { withoutCredentials } from './observability.module';

describe('withoutCredentials (request and response log serializers)', () => {
  it('replaces authorization, proxy-authorization, cookie and set-cookie, and leaves the live headers alone', () => {
    const headers = {
      authorization: 'Bearer a.b.c',
      'proxy-authorization': 'Basic x',
      cookie: 'sid=1',
      'set-cookie': ['sid=2'],
      accept: '*/*',
    };
    const logged = withoutCredentials({ method: 'GET', headers });
    expect(logged).toEqual({
      method: 'GET',
      headers: {
        authorization: '[redacted]',
        'proxy-authorization': '[redacted]',
        cookie: '[redacted]',
        'set-cookie': '[redacted]',
        accept: '*/*',
      },
    });
    expect(headers.authorization).toBe('Bearer a.b.c');
  });

  it('returns a message without credentials as it is', () => {
    const message = { headers: { accept: '*/*' } };
    expect(withoutCredentials(message)).toBe(message);
    const response: { statusCode: number; headers?: Record<string, unknown> } = { statusCode: 200 };
    expect(withoutCredentials(response)).toEqual({ statusCode: 200 });
  });
});
