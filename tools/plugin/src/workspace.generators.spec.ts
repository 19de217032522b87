import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// The generators for real: a copy of the workspace (its files as the working tree has them, with
// node_modules linked), a context, an event and a command generated into it with `nx g`, then the
// checks `npm test` would run on what they wrote: the new libs, the apps that now host the
// context, the deployment files (against schemas/manifest.json) and the test-database list. What
// they generate must pass as generated.
const root = join(__dirname, '..', '..', '..');
const bin = join(root, 'node_modules', '.bin');

/** The environment of a command in the copy: no variables of the Nx or Jest run this spec is in. */
function env(): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(NX_|JEST_|SWC_NODE_|TS_NODE_)/.test(key) && !['NODE_ENV', 'FORCE_COLOR', 'NO_COLOR'].includes(key),
    ),
  );
  return {
    ...clean,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_SKIP_NX_CACHE_CHECK: 'true',
  };
}

/** What `npm test` exports once it has provisioned the servers; without it, a test would start them. */
const INFRA = ['DATABASE_ADMIN_URL', 'KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL'].every((name) => process.env[name]);

describe('generators (in a copy of the workspace)', () => {
  let copy: string;

  /** Runs `command` in the copy; fails with its whole output unless it exits 0. */
  function run(command: string, ...args: string[]): void {
    const result = spawnSync(join(bin, command), args, {
      cwd: copy,
      env: env(),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.status !== 0) {
      const line = [command, ...args].join(' ');
      throw new Error(`\`${line}\` exited ${result.status ?? result.signal}:\n${result.stdout}\n${result.stderr}`);
    }
  }

  beforeAll(() => {
    copy = mkdtempSync(join(tmpdir(), 'cqrs-generators-'));
    // tracked and new files, not ignored ones (build output, caches, the local stack's state)
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root })
      .toString()
      .split('\0')
      .filter((file) => file && existsSync(join(root, file)) && !lstatSync(join(root, file)).isDirectory());
    for (const file of files) {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      copyFileSync(join(root, file), join(copy, file));
    }
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
    run('nx', 'g', '@cqrs/plugin:context', 'zzdemo', '--no-interactive');
    run('nx', 'g', '@cqrs/plugin:event', 'zzdemo', 'ZzdemoArchived', '--no-interactive');
    run('nx', 'g', '@cqrs/plugin:command', 'zzdemo', 'ArchiveZzdemo', '--event', 'ZzdemoArchived', '--no-interactive');
  });

  afterAll(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it('generates a context, an event and a command that pass formatting, lint, typecheck and the tests of the libs and apps', () => {
    // everything the generators wrote or changed
    run(
      'prettier',
      '--check',
      'libs/zzdemo',
      'schemas',
      'eslint.config.mjs',
      'tsconfig.base.json',
      'libs/testing/src/database-cleanup.ts',
      'apps/command-service/src',
      'apps/query-service/src',
      'apps/projector/src',
      'docker-compose.yml',
      'helm/cqrs/values.yaml',
    );
    run(
      'nx',
      'run-many',
      '-t',
      'lint',
      'typecheck',
      'test',
      '-p',
      'command-service',
      'query-service',
      'projector',
      'zzdemo-domain',
      'zzdemo-contracts',
      'zzdemo-read-model',
      '--output-style=static',
      '--parallel=2',
    );
  });

  it("keeps the deployment's topics and the test-database prefixes in step with what it generated", () => {
    // compose topics and ACLs against schemas/manifest.json and tools/local-stack/stack.sh
    run('jest', '-c', 'tools/deploy/jest.config.cts', 'compose.spec');
    // the read-model int test's prefix, listed for the leftover cleanup
    run('jest', '-c', 'libs/testing/jest.config.cts', 'database-cleanup.spec');
    // The chart's KafkaTopics are checked by tools/deploy's helm-chart int spec (it needs helm):
    // here, that the values list the event topic and its dead-letter topic.
    expect(readFileSync(join(copy, 'helm/cqrs/values.yaml'), 'utf8')).toMatch(
      /\n +- zzdemo\.zzdemo\.events\n +- zzdemo\.zzdemo\.events\.dlq\n/,
    );
  });

  // Its own throwaway database, dropped when it ends (npm test's leftover cleanup does not know
  // the prefix, which only the copy lists).
  (INFRA ? it : it.skip)('generates a read model whose int test passes on real PostgreSQL', () => {
    run('nx', 'run', 'zzdemo-read-model:int', '--output-style=static');
  });
});
