import { devToken, repoRoot } from '@cqrs/testing';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSystem, type RunningSystem } from './support/system';

// API fuzzing: schemathesis generates requests from each HTTP service's own /openapi.json (valid and
// invalid paths, queries, headers and bodies, plus the strings in apps/system-e2e/fuzz/*.dict) and
// checks every answer with all of its checks: no 5xx, status codes, content types, headers and
// bodies as the document declares them, valid input accepted, invalid input rejected, 405 for
// undeclared methods, authentication enforced where it is declared. Its stateful phase chains the
// operations through links it infers (create a task, then start, patch, delete it). Settings and
// the reasons for each: fuzz/schemathesis.toml.
//
// The document is on the management port; its API operations are fuzzed on the API port, every
// request with a valid bearer token (schemathesis still sends its own probes without one, or with
// a bad one, to check that each operation refuses them), and its health and metrics operations on
// the management port.
//
// Budget (environment): FUZZ_MAX_EXAMPLES test cases per operation and phase (50 here, 500 for
// `npm run fuzz`), FUZZ_MAX_TIME seconds per service to keep fuzzing once those are done (unset:
// stop), FUZZ_SEED: the seed (each run prints its own), or `random` for a new one every run.
// `npm test` replays one fixed seed, so the tier is deterministic: a failure there is a regression,
// not a new draw. `npm run fuzz` draws a new seed each run (FUZZ_SEED=random) to explore.
const MAX_EXAMPLES = Number(process.env['FUZZ_MAX_EXAMPLES'] ?? 50);
const MAX_TIME = process.env['FUZZ_MAX_TIME'];
const SEED = process.env['FUZZ_SEED'] ?? '271828182845904523536028747135266249775';
const FUZZ_DIR = join(repoRoot(), 'apps/system-e2e/fuzz');
// Where schemathesis keeps its example database (failing examples are tried first next time).
const WORK_DIR = join(repoRoot(), '.cache/schemathesis');

const exec = promisify(execFile);

/** The pinned schemathesis CLI, installed on first use by the project's script. */
async function ensureSchemathesis(): Promise<string> {
  const { stdout } = await exec('bash', [join(repoRoot(), 'tools/scripts/ensure-schemathesis.sh')], {
    timeout: 300_000,
  });
  return stdout.trim();
}

/** The operations served on the management port (the apps' isManagementPath), as a schemathesis path filter. */
const MANAGEMENT_PATHS = '^/(health|metrics|docs)(/|$)|^/openapi\\.json$';

interface FuzzTarget {
  /** The service's OpenAPI document. */
  schema: string;
  /** Where the operations are sent. */
  url: string;
  /** Which operations: those of the API, or the management endpoints. */
  operations: 'api' | 'management';
  /** Sent with every request (schemathesis `-H`). */
  headers?: Record<string, string>;
}

/** Runs `st run` against a service; resolves with its exit code and everything it printed. */
function fuzz(st: string, target: FuzzTarget): Promise<{ code: number | null; output: string }> {
  const args = [
    '--config-file',
    join(FUZZ_DIR, 'schemathesis.toml'),
    'run',
    target.schema,
    '--url',
    target.url,
    target.operations === 'api' ? '--exclude-path-regex' : '--include-path-regex',
    MANAGEMENT_PATHS,
  ];
  for (const [name, value] of Object.entries(target.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push(
    '--checks',
    'all',
    '--max-examples',
    String(MAX_EXAMPLES),
    // One worker: with two threads, CPython 3.11's ast module (used by schemathesis's coverage
    // phase) fails now and then with "AST constructor recursion depth mismatch" (fixed in later
    // Pythons); the machines' python3 is 3.11.
    '--workers',
    '1',
    '--no-color',
  );
  if (MAX_TIME) args.push('--max-time', MAX_TIME);
  if (SEED !== 'random') args.push('--seed', SEED);
  return new Promise((resolve, reject) => {
    // Nx sets FORCE_COLOR, which would make schemathesis draw live progress bars into the log.
    const { FORCE_COLOR: _, ...env } = process.env;
    const child = spawn(st, args, {
      cwd: WORK_DIR,
      env: { ...env, NO_COLOR: '1', TERM: 'dumb', COLUMNS: '120' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('API fuzzing (schemathesis, every check)', () => {
  let system: RunningSystem;
  let st: string;

  beforeAll(async () => {
    mkdirSync(WORK_DIR, { recursive: true });
    st = await ensureSchemathesis();
    // schemathesis sends thousands of requests as one user (more with `npm run fuzz`), far over a
    // user's rate limit: with it, the answers would be 429s instead of what is being fuzzed.
    const unlimited = { RATE_LIMIT_REQUESTS: '0' };
    system = await startSystem({
      env: { LOG_LEVEL: 'warn' },
      perApp: {
        'command-service': unlimited,
        // Fuzzed minVersion values name versions that never come; a short read-your-writes wait keeps
        // each such request (a declared 503 READ_MODEL_BEHIND) from eating the budget.
        'query-service': { ...unlimited, READ_YOUR_WRITES_TIMEOUT_MS: '200' },
      },
    });
  }, 600_000);

  afterAll(async () => {
    await system?.stop();
  });

  it.each([
    ['command-service', 'api'],
    ['command-service', 'management'],
    ['query-service', 'api'],
    ['query-service', 'management'],
  ] as const)(
    '%s answers every generated request to its %s operations as its OpenAPI document says',
    async (name, operations) => {
      const app = system.apps[name];
      // A task's owner is its creator, so the command service is fuzzed as one user; the query
      // service as an admin, so that /users/{userId}/... reach the database with every generated
      // id instead of stopping at 403. The token outlasts any fuzzing budget (a day).
      const where =
        operations === 'api'
          ? {
              url: app.url,
              headers: {
                Authorization: `Bearer ${await devToken('fuzzer', { roles: name === 'query-service' ? ['admin'] : [], expiresIn: 86_400 })}`,
              },
            }
          : { url: app.managementUrl };
      const { code, output } = await fuzz(st, { schema: `${app.managementUrl}/openapi.json`, operations, ...where });
      // schemathesis exits 1 on a failed check, 2 on an error of its own (schema not loadable, ...).
      // Its report lists each failing operation with the check and a curl reproducer.
      if (code !== 0) throw new Error(`schemathesis against ${name} (${operations}) exited with ${code}:\n${output}`);
    },
    30 * 60_000,
  );
});
