import { freePort, getTestInfra, repoRoot } from '@cqrs/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningSystem } from './system';

/** The web console's server (`dist/apps/console/server.mjs`) in front of a running system. */
export interface ConsoleProcess {
  url: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the built console as `npm start` runs it, pointed at the system's apps, with development
 * sign-in through the test infrastructure's issuer; resolves once it answers `/healthz`.
 */
export async function startConsole(system: RunningSystem, env: Record<string, string> = {}): Promise<ConsoleProcess> {
  const dir = join(repoRoot(), 'dist/apps/console');
  if (!existsSync(join(dir, 'server.mjs')))
    throw new Error(`${dir}/server.mjs is missing: build the console first (nx run console:build)`);
  const infra = await getTestInfra();
  const port = await freePort();
  const { apps } = system;
  const child = spawn(process.execPath, ['--enable-source-maps', 'server.mjs'], {
    cwd: dir,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      CONSOLE_HOST: '127.0.0.1',
      CONSOLE_PORT: String(port),
      CONSOLE_COMMANDS_URL: apps['command-service'].url,
      CONSOLE_COMMANDS_MANAGEMENT_URL: apps['command-service'].managementUrl,
      CONSOLE_QUERIES_URL: apps['query-service'].url,
      CONSOLE_QUERIES_MANAGEMENT_URL: apps['query-service'].managementUrl,
      CONSOLE_ADMIN_URL: apps.projector.url,
      CONSOLE_RELAY_URL: apps['outbox-relay'].url,
      CONSOLE_DEV_ISSUER_URL: infra.oidc.issuerUrl,
      CONSOLE_TRACE_URL: 'http://127.0.0.1:16686/trace/{traceId}',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the console exited with ${child.exitCode} at start-up:\n${output}`);
    try {
      if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the console did not answer /healthz within 30 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, process: child, output: () => output, stop };
}
