import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './lib/repo';

// `npm run deploy:verify` with input it cannot use: a usage error (exit 2) naming the problem,
// before it reaches for any cluster or builds anything.
describe('deploy:verify refuses bad arguments', () => {
  const run = (...args: string[]) => {
    const home = mkdtempSync(join(tmpdir(), 'verify-cli-'));
    const result = spawnSync(
      process.execPath,
      ['-r', '@swc-node/register', join(repoRoot(), 'tools/deploy/src/cli/verify.cli.ts'), ...args],
      {
        cwd: repoRoot(),
        encoding: 'utf8',
        timeout: 60_000,
        // No kubeconfig anywhere: were the arguments accepted, it would start a local API server.
        env: { ...process.env, SWC_NODE_PROJECT: 'tsconfig.base.json', HOME: home, KUBECONFIG: '', INIT_CWD: home },
      },
    );
    return { status: result.status, stderr: result.stderr, stdout: result.stdout };
  };

  it.each([
    [['--no-such-option'], /Unknown option '--no-such-option'/],
    [['-f', 'missing-values.yaml'], /no values file .*missing-values\.yaml/],
    [['--set-json', 'image.tag'], /--set-json wants PATH=JSON, not image\.tag/],
    [['--set-json', 'replicas={oops'], /--set-json replicas: the value is not JSON \(\{oops\)/],
  ])('%j: exit 2 with the reason and the usage', (args, reason) => {
    const { status, stderr, stdout } = run(...args);
    expect(status).toBe(2);
    expect(stderr).toMatch(reason);
    expect(stderr).toContain('usage: npm run deploy:verify');
    expect(stdout).toBe('');
  });
});
