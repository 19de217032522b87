import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rolesOf, secretMatches, secretsDirClients, staticClients } from './clients.ts';

describe('rolesOf', () => {
  it.each([
    ['cqrs-admin', ['sr-admin']],
    ['cqrs-command', ['sr-readonly']],
    ['cqrs-projector', ['sr-readonly']],
    ['cqrs-relay', ['sr-readonly']],
    ['cqrs-query', ['sr-readonly']],
    ['cqrs-connect', ['sr-readonly']],
    ['anyone-else', ['sr-readonly']],
    ['constructor', ['sr-readonly']],
  ])('%s: %j', (id, roles) => expect(rolesOf(id)).toEqual(roles));
});

describe('secretMatches', () => {
  it('matches the same secret only', () => {
    expect(secretMatches('s3cret', 's3cret')).toBe(true);
    expect(secretMatches('s3cret', 's3cre')).toBe(false);
    expect(secretMatches('', 's3cret')).toBe(false);
  });
});

describe('client sources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dev-issuer-clients-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('secretsDirClients reads registry-<id>.password, refusing ids that are not file names', async () => {
    writeFileSync(join(dir, 'registry-cqrs-admin.password'), 'pw\n');
    writeFileSync(join(dir, 'registry-.hidden.password'), 'pw');
    const source = secretsDirClients(dir);
    await expect(source('cqrs-admin')).resolves.toEqual({ secret: 'pw', roles: ['sr-admin'] });
    await expect(source('cqrs-missing')).resolves.toBeUndefined();
    await expect(source('.hidden')).resolves.toBeUndefined();
    await expect(source('../x')).resolves.toBeUndefined();
  });

  it('staticClients keeps given roles, else the default ones', async () => {
    const source = staticClients([
      { id: 'a', secret: 'x', roles: ['r'] },
      { id: 'cqrs-command', secret: 'y' },
    ]);
    await expect(source('a')).resolves.toEqual({ secret: 'x', roles: ['r'] });
    await expect(source('cqrs-command')).resolves.toEqual({ secret: 'y', roles: ['sr-readonly'] });
    await expect(source('b')).resolves.toBeUndefined();
  });
});
