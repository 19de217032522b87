import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// The generators for real: a copy of the workspace (its files as the working tree has them, with
// node_modules linked), a context, an event and a command generated into it with `nx g`, then the
// checks `npm test` would run on the generated libs. What they generate must pass as generated.
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
  });

  afterAll(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it('generates a context, an event and a command that pass formatting, lint, typecheck and their tests', () => {
    run('nx', 'g', '@cqrs/plugin:context', 'zzdemo', '--no-interactive');
    run('nx', 'g', '@cqrs/plugin:event', 'zzdemo', 'ZzdemoArchived', '--no-interactive');
    run('nx', 'g', '@cqrs/plugin:command', 'zzdemo', 'ArchiveZzdemo', '--event', 'ZzdemoArchived', '--no-interactive');
    // everything the generators wrote or changed
    run('prettier', '--check', 'libs/zzdemo', 'schemas', 'eslint.config.mjs', 'tsconfig.base.json');
    run(
      'nx',
      'run-many',
      '-t',
      'lint',
      'typecheck',
      'test',
      '-p',
      'zzdemo-domain',
      'zzdemo-contracts',
      'zzdemo-read-model',
      '--output-style=static',
      '--parallel=2',
    );
  });
});
