import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// Integration tests take their servers from @cqrs/testing; the tag matrix has no spec-file exception yet.
import { freePort, getTestInfra } from '@cqrs/testing';
import { fetch } from 'undici';
import { resolveRegistryAccess } from './cli/common.mts';
import type { AvroRecordSchema } from './manifest.mts';
import { authorizationHeader, fetchDispatcher } from './registry-access.mts';
import { RegistryClient } from './registry-client.mts';
import { record, writeSchemaDir } from './testing/schema-dir.mts';

const root = join(__dirname, '../../..');
// The CLIs are TypeScript run by Node 24 directly, as `npm run schemas:*` does.
const node = existsSync(join(root, 'node_modules/.bin/node')) ? join(root, 'node_modules/.bin/node') : process.execPath;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(name: 'check' | 'register' | 'codegen', args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [join(root, `tools/schemas/src/cli/${name}.mts`), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let url: string;
let client: RegistryClient;
const subjects: string[] = [];
const register = (dir: string) => cli('register', ['--schemas', dir, '--registry-url', url]);
const check = (dir: string) => cli('check', ['--schemas', dir, '--registry-url', url]);

/** A schemas dir whose v1 is registered; returns a function writing the next version beside it. */
async function registeredV1(v1: AvroRecordSchema) {
  const schemaDir = writeSchemaDir({ versions: [v1] });
  subjects.push(schemaDir.subject);
  const run = await register(schemaDir.dir);
  expect(run).toMatchObject({ code: 0 });
  return {
    ...schemaDir,
    withVersions: (...versions: AvroRecordSchema[]) =>
      writeSchemaDir({ versions, topic: schemaDir.topic, dir: schemaDir.dir }),
  };
}

const kind = (symbols: string[]) => ({ type: 'enum', name: 'Kind', symbols });
const v1 = record('Thing', [
  { name: 'id', type: 'string' },
  { name: 'count', type: 'int' },
  { name: 'kind', type: kind(['A', 'B', 'C']) },
  { name: 'note', type: ['null', 'string'], default: null },
]);
const v2With = (fields: AvroRecordSchema['fields']) => ({ ...v1, fields });

beforeAll(async () => {
  url = (await getTestInfra()).schemaRegistry.url;
  // The CLIs' own resolution: SCHEMA_REGISTRY_* of the environment, else the stack's env file.
  client = new RegistryClient(resolveRegistryAccess(url, root));
});

afterAll(async () => {
  for (const subject of subjects) await client.deleteSubject(subject);
  await client.close();
});

describe('schemas:register', () => {
  it('registers every version in order, sets FULL_TRANSITIVE, and a second run changes nothing', async () => {
    const v2 = v2With([...v1.fields, { name: 'extra', type: ['null', 'string'], default: null }]);
    const { dir, subject } = writeSchemaDir({ versions: [v1, v2] });
    subjects.push(subject);

    const first = await register(dir);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(`\\+ ${subject}: it/thing/thing-happened.v1.avsc registered as version 1 \\(schema id \\d+\\)`),
    );
    expect(first.stdout).toMatch(new RegExp(`\\+ ${subject}: it/thing/thing-happened.v2.avsc registered as version 2`));
    expect(await client.versions(subject)).toEqual([1, 2]);
    expect(await client.compatibility(subject)).toBe('FULL_TRANSITIVE');

    const second = await register(dir);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('✓ nothing to change');
    expect(second.stdout).not.toMatch(/^[+~] /m);
    expect(await client.versions(subject)).toEqual([1, 2]);
  });

  it('sets the level of a subject created without one (Apicurio then reports the global NONE) before registering', async () => {
    const { dir, subject } = writeSchemaDir({ versions: [v1] });
    subjects.push(subject);
    // Registered by someone else, without a level: a plain POST, as other tools do.
    const authorization = authorizationHeader(client.access.auth);
    const dispatcher = fetchDispatcher(client.access);
    const res = await fetch(`${url}/subjects/${encodeURIComponent(subject)}/versions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/vnd.schemaregistry.v1+json',
        ...(authorization ? { authorization } : {}),
      },
      body: JSON.stringify({ schema: JSON.stringify(v1) }),
      ...(dispatcher ? { dispatcher } : {}),
    });
    await dispatcher?.close();
    expect(res.status).toBe(200);

    const run = await register(dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`~ ${subject}: compatibility \\w+ -> FULL_TRANSITIVE`));
    expect(run.stdout).toContain('already registered as version 1');
    expect(await client.compatibility(subject)).toBe('FULL_TRANSITIVE');
  });

  it('refuses an incompatible version with the registry message and the field, and exits 1', async () => {
    const thing = await registeredV1(v1);
    thing.withVersions(v1, v2With(v1.fields.filter((f) => f.name !== 'count')));
    const run = await register(thing.dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`✗ ${thing.subject}: it/thing/thing-happened.v2.avsc was not registered`);
    expect(run.stdout).toMatch(/registry: .*Incompatible/);
    expect(run.stdout).toContain(
      "field 'count' was removed in it/thing/thing-happened.v2.avsc (v2), but registered version 1 readers need it (it has no default in registered version 1)",
    );
    expect(await client.versions(thing.subject)).toEqual([1]);
  });
});

describe('schemas:check, the contract gate', () => {
  it('passes a compatible change (an optional field with a default) and exits 0', async () => {
    const thing = await registeredV1(v1);
    thing.withVersions(v1, v2With([...v1.fields, { name: 'extra', type: ['null', 'string'], default: null }]));
    const run = await check(thing.dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('is new and compatible (FULL_TRANSITIVE) with registered versions 1');
    expect(run.stdout).toContain('✓ 2 schemas in 1 subjects are compatible');
  });

  it.each([
    [
      'a field removed without a default',
      v2With(v1.fields.filter((f) => f.name !== 'count')),
      "field 'count' was removed in v2, but v1 readers need it",
    ],
    [
      'a type changed',
      v2With(v1.fields.map((f) => (f.name === 'count' ? { ...f, type: 'string' } : f))),
      "field 'count' changed type: int in v1 cannot be read as string in v2",
    ],
    [
      'a field added without a default',
      v2With([...v1.fields, { name: 'owner', type: 'string' }]),
      "field 'owner' was added in v2 without a default",
    ],
    [
      'an enum symbol removed',
      v2With(v1.fields.map((f) => (f.name === 'kind' ? { ...f, type: kind(['A', 'B']) } : f))),
      "enum contract.it.Kind at 'kind': symbol 'C' was removed in v2",
    ],
  ])(
    'fails %s, naming subject, versions and field, from both the local and the registry check',
    async (_, v2, reason) => {
      const thing = await registeredV1(v1);
      thing.withVersions(v1, v2);
      const run = await check(thing.dir);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`✗ [local] ${thing.subject} (FULL_TRANSITIVE):`);
      expect(run.stderr).toContain(reason);
      expect(run.stderr).toContain(
        `✗ [registry] ${thing.subject} (FULL_TRANSITIVE): it/thing/thing-happened.v2.avsc (v2) is not compatible with registered versions 1`,
      );
      expect(run.stderr).toMatch(/✗ \d+ compatibility problem\(s\) in 1 subjects/);
    },
  );

  it('catches an edit of an already-registered version in place, which only the registry can see', async () => {
    const thing = await registeredV1(v1);
    thing.withVersions(v2With(v1.fields.map((f) => (f.name === 'count' ? { ...f, type: 'string' } : f))));
    const run = await check(thing.dir);
    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain('[local]');
    expect(run.stderr).toContain(
      `✗ [registry] ${thing.subject} (FULL_TRANSITIVE): it/thing/thing-happened.v1.avsc (v1) is not compatible`,
    );
    expect(run.stderr).toContain("field 'count' changed type: int in registered version 1 cannot be read as string");
  });

  it('holds a non-transitive level to the latest version only, as registration would (FULL, not FULL_TRANSITIVE)', async () => {
    const a = { name: 'a', type: 'string' };
    const bString = record('Thing', [a, { name: 'b', type: 'string', default: 'x' }]);
    const withoutB = record('Thing', [a]);
    const bInt = record('Thing', [a, { name: 'b', type: 'int', default: 0 }]);
    const { dir, subject, topic } = writeSchemaDir({ versions: [bString, withoutB], compatibility: 'FULL' });
    subjects.push(subject);
    expect(await register(dir)).toMatchObject({ code: 0 });
    // v3 conflicts with v1 (b: string vs int) but not with v2, the latest.
    writeSchemaDir({ versions: [bString, withoutB, bInt], compatibility: 'FULL', topic, dir });
    const run = await check(dir);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('is new and compatible (FULL) with registered versions 1, 2');
    expect(run.code).toBe(0);
  });

  it('passes the repository schemas against the real registry', async () => {
    const run = await cli('check', ['--registry-url', url]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // every context's schemas (schemas/manifest.json)
    const manifest = JSON.parse(readFileSync(join(root, 'schemas/manifest.json'), 'utf8')) as {
      schemas: { subject: string }[];
    };
    const subjectCount = new Set(manifest.schemas.map((s) => s.subject)).size;
    expect(run.stdout).toContain(`✓ ${manifest.schemas.length} schemas in ${subjectCount} subjects are compatible`);
  });
});

describe('when the registry is unreachable', () => {
  it.each(['check', 'register'] as const)(
    'schemas:%s exits 2 with one readable line, not a stack trace',
    async (name) => {
      const dead = `http://127.0.0.1:${await freePort()}/apis/ccompat/v7`;
      const run = await cli(name, ['--registry-url', dead]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`✗ cannot reach the schema registry at ${dead}: ECONNREFUSED`);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    },
  );
});

describe('when the credentials are wrong', () => {
  it.each(['check', 'register'] as const)(
    'schemas:%s exits 2 saying the registry wants credentials, without echoing them',
    async (name) => {
      if (client.access.auth.kind === 'none') return; // a registry without authentication: nothing to refuse
      const wrong = {
        SCHEMA_REGISTRY_USERNAME: 'cqrs-admin',
        SCHEMA_REGISTRY_PASSWORD: 'not-the-password',
        SCHEMA_REGISTRY_PASSWORD_FILE: '',
        SCHEMA_REGISTRY_TOKEN: '',
        SCHEMA_REGISTRY_TOKEN_FILE: '',
      };
      const run = await cli(name, ['--registry-url', url], {
        ...wrong,
        ...(client.access.caFile ? { SCHEMA_REGISTRY_CA_FILE: client.access.caFile } : {}),
      });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('failed with 401');
      expect(run.stderr).toContain('The registry wants credentials');
      expect(run.stdout + run.stderr).not.toContain('not-the-password');
    },
  );
});
