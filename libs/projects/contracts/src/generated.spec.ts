import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// Generated code is checked in; this is the test that fails when it no longer matches schemas/.
const root = join(__dirname, '..', '..', '..', '..');
// The codegen CLI is TypeScript run by Node 24 directly; the repo pins that Node in node_modules.
const node = existsSync(join(root, 'node_modules/.bin/node')) ? join(root, 'node_modules/.bin/node') : process.execPath;

describe('generated contracts', () => {
  it('match what `npm run schemas:codegen` produces from schemas/', () => {
    const run = spawnSync(
      node,
      [
        'tools/schemas/src/cli/codegen.mts',
        '--context',
        'projects',
        '--out',
        'libs/projects/contracts/src/generated',
        '--check',
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  });
});
