import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isTestDatabase, TEST_DATABASE_PREFIXES } from './database-cleanup';
import { repoRoot } from './test-infra';

const HELPERS = [
  'createThrowawayDatabase',
  'createEventStoreTestDatabase',
  'createReadModelTestDatabase',
  'createOutboxTestDb',
  'createReadTestDatabase',
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.m?ts$/.test(entry.name) ? [path] : [];
  });
}

/** The argument text of every call of `fn` in `source` (up to its balancing parenthesis). */
function callArguments(source: string, fn: string): string[] {
  return [...source.matchAll(new RegExp(`(?<!function )\\b${fn}\\(`, 'g'))].map((match) => {
    const start = match.index + match[0].length;
    let depth = 1;
    let end = start;
    for (; end < source.length && depth > 0; end++) depth += source[end] === '(' ? 1 : source[end] === ')' ? -1 : 0;
    return source.slice(start, end - 1);
  });
}

describe('test database names', () => {
  it('recognises <prefix>_<hex> names of test prefixes only, never the stack databases', () => {
    expect(isTestDatabase('obs_write_37438c6e')).toBe(true);
    expect(isTestDatabase('es_test_f14e1b3a708d')).toBe(true);
    expect(isTestDatabase('rm_test_0a1b2c3d4e')).toBe(true);
    for (const name of [
      'cqrs_write',
      'cqrs_read',
      'postgres',
      'template0',
      'template1',
      'obs_write',
      'obs_write_xyz12345',
      'obs_write_37438c6e_x',
      'bench_write_37438c6e',
      'bench_relay_latency_07e0fcae',
    ]) {
      expect([name, isTestDatabase(name)]).toEqual([name, false]);
    }
    expect(isTestDatabase('cqrs_write', ['cqrs'])).toBe(false);
    expect(() => isTestDatabase('x', ['a.*'])).toThrow('invalid test database prefix');
  });

  // The npm test pre-flight finds leftovers by these prefixes: a helper call with a prefix missing
  // from the list would leak unseen, a stale entry would sweep names nobody creates any more.
  it('lists exactly the prefixes the tests of apps/, libs/ and tools/ pass to the throwaway-database helpers', () => {
    const used = new Set<string>();
    for (const file of ['apps', 'libs', 'tools'].flatMap((dir) => sourceFiles(join(repoRoot(), dir)))) {
      const source = readFileSync(file, 'utf8');
      for (const helper of HELPERS) {
        for (const args of callArguments(source, helper))
          for (const [, prefix = ''] of args.matchAll(/'([a-z][a-z0-9_]*)'/g)) used.add(prefix);
      }
      for (const [, prefix = ''] of source.matchAll(/prefix \?\? '([a-z][a-z0-9_]*)'/g)) used.add(prefix); // the helpers' defaults
      // fixtures that pass a caller's prefix on (apps/projector/src/testing/projector-fixture.ts)
      for (const [, prefix = ''] of source.matchAll(/\bdbPrefix: '([a-z][a-z0-9_]*)'/g)) used.add(prefix);
    }
    expect([...used].sort()).toEqual([...TEST_DATABASE_PREFIXES].sort());
  });
});
