import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './load-config';
import {
  schemaRegistryAccessFromEnv,
  schemaRegistryHeaders,
  schemaRegistryOptionsFromEnv,
} from './schema-registry-access';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const SECRET = 'r3gistry-Secret';
const URL_ = 'https://127.0.0.1:8081/apis/ccompat/v7';

let dir: string;
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
};
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'registry-security-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function issuesOf(env: Record<string, string>): string[] {
  try {
    schemaRegistryOptionsFromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain(SECRET);
    return (error as ConfigError).issues.map((i) => `${i.variable}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('schemaRegistryOptionsFromEnv', () => {
  it('an open registry by default', () => {
    expect(schemaRegistryOptionsFromEnv({ SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081' })).toEqual({
      url: 'http://127.0.0.1:8081',
    });
    expect(schemaRegistryAccessFromEnv({})).toEqual({});
  });

  it('basic auth with the password from a file, and a CA bundle', () => {
    const env = {
      SCHEMA_REGISTRY_URL: URL_,
      SCHEMA_REGISTRY_CA_FILE: file('ca.pem', CERT),
      SCHEMA_REGISTRY_USERNAME: 'cqrs-projector',
      SCHEMA_REGISTRY_PASSWORD_FILE: file('pw', `${SECRET}\n`),
    };
    const options = schemaRegistryOptionsFromEnv(env);
    expect(options).toEqual({ url: URL_, ca: CERT, auth: { username: 'cqrs-projector', password: SECRET } });
    expect(schemaRegistryHeaders(options)).toEqual({
      authorization: `Basic ${Buffer.from(`cqrs-projector:${SECRET}`).toString('base64')}`,
    });
  });

  it('a static bearer token', () => {
    const options = schemaRegistryOptionsFromEnv({ SCHEMA_REGISTRY_URL: URL_, SCHEMA_REGISTRY_TOKEN: 'abc' });
    expect(options.token).toBe('abc');
    expect(schemaRegistryHeaders(options)).toEqual({ authorization: 'Bearer abc' });
  });

  it('a token file is re-read when it changes', () => {
    const path = file('token', 'first\n');
    const options = schemaRegistryOptionsFromEnv({ SCHEMA_REGISTRY_URL: URL_, SCHEMA_REGISTRY_TOKEN_FILE: path });
    expect(schemaRegistryHeaders(options)).toEqual({ authorization: 'Bearer first' });
    writeFileSync(path, 'second-and-longer\n');
    expect(schemaRegistryHeaders(options)).toEqual({ authorization: 'Bearer second-and-longer' });
  });

  it('reports readable problems by variable, never a secret', () => {
    expect(issuesOf({})).toEqual(['SCHEMA_REGISTRY_URL: is required']);
    expect(issuesOf({ SCHEMA_REGISTRY_URL: URL_, SCHEMA_REGISTRY_USERNAME: 'u' })).toEqual([
      'SCHEMA_REGISTRY_PASSWORD: (or SCHEMA_REGISTRY_PASSWORD_FILE) is required with SCHEMA_REGISTRY_USERNAME',
    ]);
    expect(issuesOf({ SCHEMA_REGISTRY_URL: URL_, SCHEMA_REGISTRY_PASSWORD: SECRET })).toEqual([
      'SCHEMA_REGISTRY_USERNAME: is required with SCHEMA_REGISTRY_PASSWORD',
    ]);
    expect(
      issuesOf({
        SCHEMA_REGISTRY_URL: URL_,
        SCHEMA_REGISTRY_USERNAME: 'u',
        SCHEMA_REGISTRY_PASSWORD: SECRET,
        SCHEMA_REGISTRY_TOKEN: SECRET,
      }),
    ).toEqual(['SCHEMA_REGISTRY_TOKEN: set either a bearer token or SCHEMA_REGISTRY_USERNAME/PASSWORD, not both']);
    expect(issuesOf({ SCHEMA_REGISTRY_URL: 'ftp://x', SCHEMA_REGISTRY_CA_FILE: join(dir, 'missing.pem') })).toEqual([
      'SCHEMA_REGISTRY_URL: must be an http(s) URL',
      `SCHEMA_REGISTRY_CA_FILE: cannot read ${join(dir, 'missing.pem')}: no such file`,
    ]);
  });
});
