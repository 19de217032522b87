import { spawn } from 'node:child_process';
import { join } from 'node:path';

// Proves the lint gate is real: each probe is linted as if it were a file inside a project, and
// the boundary rules must reject exactly the imports the layering forbids (eslint.config.mjs). ESLint runs as
// its own process, as `nx lint` runs it (its flat config is ESM, which Jest cannot load in-process).
const root = join(__dirname, '../../..');

function lint(file: string, code: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(root, 'node_modules/.bin/eslint'),
      ['--format', 'json', '--stdin', '--stdin-filename', join(root, file)],
      { cwd: root },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      // exit 1 means "problems found"; anything else without JSON is a broken setup
      if (status !== 0 && status !== 1) return reject(new Error(`eslint exited ${status}: ${stderr}`));
      const [result] = JSON.parse(stdout) as { messages: { ruleId: string; message: string }[] }[];
      resolve((result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`));
    });
    child.stdin.end(code);
  });
}

describe('module boundaries', () => {
  jest.setTimeout(60_000);

  it('rejects a framework import in a domain lib', async () => {
    const messages = await lint(
      'libs/tasks/domain/src/probe.ts',
      "import { Injectable } from '@nestjs/common';\nexport const x = Injectable;\n",
    );
    expect(messages.join('\n')).toMatch(/enforce-module-boundaries.*@nestjs\/common/);
  });

  it('rejects a domain lib depending on a data-access lib', async () => {
    const messages = await lint(
      'libs/tasks/domain/src/probe.ts',
      "import * as store from '@cqrs/event-store';\nexport const x = store;\n",
    );
    expect(messages.join('\n')).toMatch(
      /tagged with "type:domain" can only depend on libs tagged with "type:domain", "type:util"/,
    );
  });

  it('rejects shared code depending on a bounded context', async () => {
    const messages = await lint(
      'libs/shared/config/src/probe.ts',
      "import * as tasks from '@cqrs/tasks-domain';\nexport const x = tasks;\n",
    );
    expect(messages.join('\n')).toMatch(
      /tagged with "scope:shared" can only depend on libs tagged with "scope:shared"/,
    );
  });

  it('rejects console output in app code', async () => {
    const messages = await lint('apps/command-service/src/probe.ts', "console.log('hi');\n");
    expect(messages).toContain('no-console: Unexpected console statement.');
  });

  it('accepts an app using a domain lib and shared libs', async () => {
    const messages = await lint(
      'apps/command-service/src/probe.ts',
      "import * as tasks from '@cqrs/tasks-domain';\nimport * as http from '@cqrs/http';\nexport const x = [tasks, http];\n",
    );
    expect(messages).toEqual([]);
  });
});
