import { ConfigError } from './load-config';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientCredentialsTokenProvider, kafkaSecurityFromEnv } from './kafka-security';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
const SECRET = 's3cr3t-Value';

let dir: string;
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
};

beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'kafka-security-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The issues a failing environment reports, as `VARIABLE: message` lines. */
function issuesOf(env: Record<string, string>): string[] {
  try {
    kafkaSecurityFromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.message).not.toContain(SECRET);
    return e.issues.map((i) => `${i.variable}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('kafkaSecurityFromEnv', () => {
  it('is PLAINTEXT without TLS or SASL by default', () => {
    expect(kafkaSecurityFromEnv({})).toEqual({ protocol: 'PLAINTEXT' });
    expect(kafkaSecurityFromEnv({ KAFKA_SECURITY_PROTOCOL: '' })).toEqual({ protocol: 'PLAINTEXT' });
  });

  it('SSL without a CA file trusts Node’s CAs', () => {
    expect(kafkaSecurityFromEnv({ KAFKA_SECURITY_PROTOCOL: 'SSL' })).toEqual({ protocol: 'SSL', ssl: true });
  });

  it('SSL with a CA file and a client certificate (mTLS), key password from a file', () => {
    const env = {
      KAFKA_SECURITY_PROTOCOL: 'ssl',
      KAFKA_SSL_CA_FILE: file('ca.pem', CERT),
      KAFKA_SSL_CERT_FILE: file('client.pem', CERT),
      KAFKA_SSL_KEY_FILE: file('client.key', KEY),
      KAFKA_SSL_KEY_PASSWORD_FILE: file('key.password', `${SECRET}\n`),
    };
    expect(kafkaSecurityFromEnv(env)).toEqual({
      protocol: 'SSL',
      ssl: { ca: CERT, cert: CERT, key: KEY, passphrase: SECRET },
    });
  });

  it.each([
    ['PLAIN', 'plain'],
    ['SCRAM-SHA-256', 'scram-sha-256'],
    ['SCRAM-SHA-512', 'scram-sha-512'],
    ['scram-sha-512', 'scram-sha-512'],
  ])('SASL_SSL with %s and a password', (mechanism, expected) => {
    const env = {
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: mechanism,
      KAFKA_SSL_CA_FILE: file('ca.pem', CERT),
      KAFKA_SASL_USERNAME: 'cqrs-relay',
      KAFKA_SASL_PASSWORD: SECRET,
    };
    expect(kafkaSecurityFromEnv(env)).toEqual({
      protocol: 'SASL_SSL',
      ssl: { ca: CERT },
      sasl: { mechanism: expected, username: 'cqrs-relay', password: SECRET },
    });
  });

  it('SASL_PLAINTEXT reads the password from KAFKA_SASL_PASSWORD_FILE (trailing newline trimmed)', () => {
    const env = {
      KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD_FILE: file('pw', `${SECRET}\r\n`),
    };
    expect(kafkaSecurityFromEnv(env)).toEqual({
      protocol: 'SASL_PLAINTEXT',
      sasl: { mechanism: 'scram-sha-256', username: 'u', password: SECRET },
    });
  });

  it('OAUTHBEARER builds a token provider from the client credentials', async () => {
    const fetch = jest.fn(
      async () => new Response(JSON.stringify({ access_token: 'tok', expires_in: 300 }), { status: 200 }),
    );
    const security = kafkaSecurityFromEnv(
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
        KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'https://idp.example/token',
        KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'relay',
        KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE: file('client-secret', SECRET),
        KAFKA_SASL_OAUTHBEARER_SCOPE: 'kafka',
      },
      { fetch: fetch as unknown as typeof globalThis.fetch },
    );
    expect(security).toMatchObject({ protocol: 'SASL_SSL', ssl: true, sasl: { mechanism: 'oauthbearer' } });
    const sasl = security.sasl as { oauthBearerProvider: () => Promise<{ value: string }> };
    await expect(sasl.oauthBearerProvider()).resolves.toEqual({ value: 'tok' });
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('https://idp.example/token');
    expect(init.body).toBe('grant_type=client_credentials&scope=kafka');
    expect((init.headers as Record<string, string>)['authorization']).toBe(
      `Basic ${Buffer.from(`relay:${SECRET}`).toString('base64')}`,
    );
  });

  describe('reports readable problems, by variable, without secrets', () => {
    it('an unknown protocol or mechanism', () => {
      expect(issuesOf({ KAFKA_SECURITY_PROTOCOL: 'TLS' })).toEqual([
        'KAFKA_SECURITY_PROTOCOL: must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL',
      ]);
      expect(issuesOf({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'GSSAPI' })).toEqual([
        'KAFKA_SASL_MECHANISM: must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER',
      ]);
    });

    it('SASL without a mechanism', () => {
      expect(issuesOf({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' })).toEqual([
        'KAFKA_SASL_MECHANISM: is required with KAFKA_SECURITY_PROTOCOL=SASL_SSL: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER',
      ]);
    });

    it('a mechanism without username or password', () => {
      expect(issuesOf({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512' })).toEqual([
        'KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM=SCRAM-SHA-512',
        'KAFKA_SASL_PASSWORD: (or KAFKA_SASL_PASSWORD_FILE) is required with KAFKA_SASL_MECHANISM=SCRAM-SHA-512',
      ]);
    });

    it('SASL or TLS settings on a protocol that would ignore them', () => {
      expect(
        issuesOf({
          KAFKA_SASL_MECHANISM: 'PLAIN',
          KAFKA_SASL_USERNAME: 'u',
          KAFKA_SASL_PASSWORD: SECRET,
          KAFKA_SSL_CA_FILE: '/x',
        }),
      ).toEqual([
        'KAFKA_SSL_CA_FILE: is set, but TLS settings need KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL (it is PLAINTEXT)',
        'KAFKA_SASL_MECHANISM: is set, but SASL settings need KAFKA_SECURITY_PROTOCOL=SASL_SSL or SASL_PLAINTEXT (it is PLAINTEXT)',
        'KAFKA_SASL_USERNAME: is set, but SASL settings need KAFKA_SECURITY_PROTOCOL=SASL_SSL or SASL_PLAINTEXT (it is PLAINTEXT)',
        'KAFKA_SASL_PASSWORD: is set, but SASL settings need KAFKA_SECURITY_PROTOCOL=SASL_SSL or SASL_PLAINTEXT (it is PLAINTEXT)',
      ]);
    });

    it('a missing, unreadable, empty or wrong file', () => {
      const missing = join(dir, 'nope.pem');
      const unreadable = file('locked', SECRET);
      chmodSync(unreadable, 0o000);
      const asRoot = process.getuid?.() === 0; // root reads any file
      const issues = issuesOf({
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SSL_CA_FILE: missing,
        KAFKA_SSL_CERT_FILE: file('not-a-cert', 'hello'),
        KAFKA_SSL_KEY_FILE: file('k', KEY),
        KAFKA_SASL_MECHANISM: 'PLAIN',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD_FILE: asRoot ? file('empty', '\n') : unreadable,
      });
      expect(issues).toEqual([
        `KAFKA_SSL_CA_FILE: cannot read ${missing}: no such file`,
        `KAFKA_SSL_CERT_FILE: ${join(dir, 'not-a-cert')} holds no PEM certificate (-----BEGIN ...CERTIFICATE-----)`,
        asRoot
          ? `KAFKA_SASL_PASSWORD_FILE: ${join(dir, 'empty')} is empty`
          : `KAFKA_SASL_PASSWORD_FILE: cannot read ${unreadable}: permission denied`,
      ]);
    });

    it('a secret given twice, a certificate without its key', () => {
      expect(
        issuesOf({
          KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
          KAFKA_SSL_CERT_FILE: file('c', CERT),
          KAFKA_SASL_MECHANISM: 'PLAIN',
          KAFKA_SASL_USERNAME: 'u',
          KAFKA_SASL_PASSWORD: SECRET,
          KAFKA_SASL_PASSWORD_FILE: file('pw2', SECRET),
        }),
      ).toEqual([
        'KAFKA_SSL_KEY_FILE: is required with KAFKA_SSL_CERT_FILE (a client certificate needs its key)',
        'KAFKA_SASL_PASSWORD_FILE: set either KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both',
      ]);
    });

    it('OAUTHBEARER without its client credentials, or with a username', () => {
      expect(
        issuesOf({
          KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
          KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
          KAFKA_SASL_USERNAME: 'u',
          KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'idp/token',
        }),
      ).toEqual([
        'KAFKA_SASL_USERNAME: is not used with KAFKA_SASL_MECHANISM=OAUTHBEARER (it authenticates with the OAUTHBEARER client credentials)',
        'KAFKA_SASL_OAUTHBEARER_TOKEN_URL: must be an http(s) URL',
        'KAFKA_SASL_OAUTHBEARER_CLIENT_ID: is required with KAFKA_SASL_MECHANISM=OAUTHBEARER',
        'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: (or KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE) is required with KAFKA_SASL_MECHANISM=OAUTHBEARER',
      ]);
    });
  });
});

describe('clientCredentialsTokenProvider', () => {
  const tokenResponse = (token: string, expiresIn?: number) =>
    new Response(
      JSON.stringify({ access_token: token, token_type: 'Bearer', ...(expiresIn ? { expires_in: expiresIn } : {}) }),
      { status: 200 },
    );

  it('caches the token until shortly before it expires, and shares one request', async () => {
    let clock = 0;
    const fetch = jest
      .fn()
      .mockResolvedValueOnce(tokenResponse('one', 600))
      .mockResolvedValueOnce(tokenResponse('two', 600));
    const provider = clientCredentialsTokenProvider({
      tokenUrl: 'http://idp/token',
      clientId: 'c',
      clientSecret: SECRET,
      fetch,
      now: () => clock,
    });
    await expect(Promise.all([provider(), provider()])).resolves.toEqual([{ value: 'one' }, { value: 'one' }]);
    clock = 539_000; // 600 s lifetime, refreshed a minute early
    await expect(provider()).resolves.toEqual({ value: 'one' });
    clock = 540_000;
    await expect(provider()).resolves.toEqual({ value: 'two' });
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('asks again every time when the lifetime is unknown', async () => {
    const fetch = jest.fn().mockResolvedValueOnce(tokenResponse('one')).mockResolvedValueOnce(tokenResponse('two'));
    const provider = clientCredentialsTokenProvider({
      tokenUrl: 'http://idp/token',
      clientId: 'c',
      clientSecret: SECRET,
      fetch,
      now: () => 0,
    });
    await provider();
    await expect(provider()).resolves.toEqual({ value: 'two' });
  });

  it('names the endpoint and the OAuth error, never the secret', async () => {
    const fetch = jest
      .fn()
      .mockResolvedValue(
        new Response(JSON.stringify({ error: 'invalid_client', error_description: 'bad secret' }), { status: 401 }),
      );
    const provider = clientCredentialsTokenProvider({
      tokenUrl: 'http://idp/token',
      clientId: 'c',
      clientSecret: SECRET,
      fetch,
    });
    const failure = provider();
    await expect(failure).rejects.toThrow(
      'OAUTHBEARER token endpoint http://idp/token answered 401 without an access token: invalid_client (bad secret)',
    );
    await expect(failure).rejects.not.toThrow(SECRET);
  });
});
