import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRegistryAccess } from './cli/common.mts';
import { authorizationHeader, describeAccess, RegistryConfigError, registryAccessFromEnv } from './registry-access.mts';

const dir = mkdtempSync(join(tmpdir(), 'registry-access-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const URL = 'https://registry.test/apis/ccompat/v7';

describe('registryAccessFromEnv', () => {
  it("sends nothing and trusts Node's CAs without variables", () => {
    const access = registryAccessFromEnv({}, URL);
    expect(access).toEqual({ url: URL, auth: { kind: 'none' } });
    expect(authorizationHeader(access.auth)).toBeUndefined();
  });

  it('reads basic credentials, the password from a file without its trailing newline, and the CA', () => {
    const env = {
      SCHEMA_REGISTRY_USERNAME: 'cqrs-admin',
      SCHEMA_REGISTRY_PASSWORD_FILE: file('pw', 's3cret\n'),
      SCHEMA_REGISTRY_CA_FILE: file('ca.pem', CA),
    };
    const access = registryAccessFromEnv(env, URL);
    expect(authorizationHeader(access.auth)).toBe(`Basic ${Buffer.from('cqrs-admin:s3cret').toString('base64')}`);
    expect(access.ca).toBe(CA);
    expect(describeAccess(access)).toBe(`${URL} (basic as cqrs-admin, CA ${env.SCHEMA_REGISTRY_CA_FILE})`);
    expect(describeAccess(access)).not.toContain('s3cret');
  });

  it('re-reads a token file at each request, so a rotated token applies', () => {
    const tokenFile = file('token', 'first\n');
    const access = registryAccessFromEnv({ SCHEMA_REGISTRY_TOKEN_FILE: tokenFile }, URL);
    expect(authorizationHeader(access.auth)).toBe('Bearer first');
    writeFileSync(tokenFile, 'second');
    expect(authorizationHeader(access.auth)).toBe('Bearer second');
    expect(describeAccess(access)).toBe(`${URL} (bearer token)`);
  });

  it.each([
    [
      'a secret and its file',
      { SCHEMA_REGISTRY_USERNAME: 'u', SCHEMA_REGISTRY_PASSWORD: 'p', SCHEMA_REGISTRY_PASSWORD_FILE: '/x' },
      'set SCHEMA_REGISTRY_PASSWORD or SCHEMA_REGISTRY_PASSWORD_FILE, not both',
    ],
    [
      'a token and basic credentials',
      { SCHEMA_REGISTRY_TOKEN: 't', SCHEMA_REGISTRY_USERNAME: 'u', SCHEMA_REGISTRY_PASSWORD: 'p' },
      'not both',
    ],
    ['a user without a password', { SCHEMA_REGISTRY_USERNAME: 'u' }, 'go together'],
    [
      'a missing password file',
      { SCHEMA_REGISTRY_USERNAME: 'u', SCHEMA_REGISTRY_PASSWORD_FILE: '/nonexistent/pw' },
      'SCHEMA_REGISTRY_PASSWORD_FILE=/nonexistent/pw cannot be read (ENOENT)',
    ],
    ['an empty token file', { SCHEMA_REGISTRY_TOKEN_FILE: file('empty', '\n') }, 'is empty'],
    [
      'a CA file without a certificate',
      { SCHEMA_REGISTRY_CA_FILE: file('not-pem', 'hello') },
      'holds no PEM certificate',
    ],
  ])('refuses %s', (_case, env, message) => {
    expect(() => registryAccessFromEnv(env, URL)).toThrow(RegistryConfigError);
    expect(() => registryAccessFromEnv(env, URL)).toThrow(message);
  });
});

describe('resolveRegistryAccess', () => {
  const state = join(dir, 'stack');
  beforeAll(() => {
    mkdirSync(state);
    const pw = file('stack-pw', 'stack-secret');
    const ca = file('stack-ca.pem', CA);
    writeFileSync(
      join(state, 'env'),
      `KAFKA_BROKERS=127.0.0.1:9092\nSCHEMA_REGISTRY_URL=https://127.0.0.1:8081/apis/ccompat/v7\nSCHEMA_REGISTRY_CA_FILE=${ca}\nSCHEMA_REGISTRY_USERNAME=cqrs-admin\nSCHEMA_REGISTRY_PASSWORD_FILE=${pw}\n`,
    );
  });
  const env = (extra: Record<string, string> = {}) => ({ CQRS_STACK_STATE: state, ...extra });

  it('takes URL, CA and credentials from the stack env file when the environment has none', () => {
    const access = resolveRegistryAccess(undefined, dir, env());
    expect(access).toMatchObject({
      url: 'https://127.0.0.1:8081/apis/ccompat/v7',
      auth: { kind: 'basic', username: 'cqrs-admin', password: 'stack-secret' },
      ca: CA,
    });
  });

  it('uses the stack credentials for the stack registry named by flag or SCHEMA_REGISTRY_URL, not for another registry', () => {
    expect(resolveRegistryAccess('https://127.0.0.1:8081/apis/ccompat/v7/', dir, env()).auth.kind).toBe('basic');
    expect(
      resolveRegistryAccess(undefined, dir, env({ SCHEMA_REGISTRY_URL: 'https://127.0.0.1:8081/apis/ccompat/v7' })).auth
        .kind,
    ).toBe('basic');
    expect(resolveRegistryAccess('https://elsewhere.test', dir, env())).toEqual({
      url: 'https://elsewhere.test',
      auth: { kind: 'none' },
    });
  });

  it("takes the environment's settings alone when it has any", () => {
    const access = resolveRegistryAccess(undefined, dir, env({ SCHEMA_REGISTRY_TOKEN: 'tok' }));
    expect(access).toEqual({
      url: 'https://127.0.0.1:8081/apis/ccompat/v7',
      auth: { kind: 'bearer', token: expect.any(Function) },
    });
    expect(authorizationHeader(access.auth)).toBe('Bearer tok');
  });
});
