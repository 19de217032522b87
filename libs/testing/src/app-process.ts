import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from './test-infra';

/** A built app running as a real process, as `npm start` and the container image run it. */
export interface AppProcess {
  name: string;
  /** The API (command and query services); for the projector and the relay, their only port. */
  url: string;
  port: number;
  /** Health, metrics and docs: a port of its own for the command and query services, else `url`. */
  managementUrl: string;
  process: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | NodeJS.Signals | null>;
  /** SIGKILL at once (crash simulation). */
  kill(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, chosen by the OS. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** The apps with a public API, and so a management port apart from it. */
const API_APPS = new Set(['command-service', 'query-service']);

/**
 * Starts `dist/apps/<name>/main.js` as the image's CMD runs it (`node --enable-source-maps --import ./instrumentation.js main.js`) (build it first: the e2e targets depend on the apps' build)
 * on a free port (and a free management port) with the given environment, and waits until
 * `waitFor` answers 2xx on the management port. NODE_ENV is `test` unless given: in production
 * the apps refuse the development token issuer the test infrastructure runs.
 */
export async function startApp(
  name: string,
  env: Record<string, string | undefined> = {},
  options: { waitFor?: string | null; timeoutMs?: number } = {},
): Promise<AppProcess> {
  const dir = join(repoRoot(), 'dist/apps', name);
  if (!existsSync(join(dir, 'main.js')))
    throw new Error(`${dir}/main.js is missing: build ${name} first (nx run ${name}:build)`);
  const port = Number(env['PORT'] ?? (await freePort()));
  const managementPort = API_APPS.has(name) ? Number(env['MANAGEMENT_PORT'] ?? (await freePort())) : port;
  // Exactly the container image's command (see Dockerfile), OpenTelemetry loaded first.
  const child = spawn(process.execPath, ['--enable-source-maps', '--import', './instrumentation.js', 'main.js'], {
    cwd: dir,
    // No tracing unless a test asks for it (it then sets OTEL_EXPORTER_OTLP_ENDPOINT etc.).
    env: {
      ...process.env,
      NODE_ENV: 'test',
      OTEL_TRACES_EXPORTER: 'none',
      ...env,
      PORT: String(port),
      ...(API_APPS.has(name) ? { MANAGEMENT_PORT: String(managementPort) } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal)),
  );
  const app: AppProcess = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    managementUrl: `http://127.0.0.1:${managementPort}`,
    process: child,
    output: () => output,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  const waitFor = options.waitFor === undefined ? '/health/ready' : options.waitFor;
  if (waitFor) {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`${name} exited with ${child.exitCode} before it was ready:\n${output}`);
      try {
        const response = await fetch(app.managementUrl + waitFor, { signal: AbortSignal.timeout(2000) });
        if (response.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await app.stop();
        throw new Error(`${name} did not answer ${waitFor} within ${options.timeoutMs ?? 60_000} ms:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return app;
}

/** Resolves when the process exits (for apps expected to fail at start-up). */
export function exitOf(app: AppProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (app.process.exitCode !== null) return resolve(app.process.exitCode);
    app.process.on('exit', (code) => resolve(code));
  });
}
