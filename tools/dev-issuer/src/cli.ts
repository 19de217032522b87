/**
 * The development OIDC issuer's command line, run by Node 24 directly (type stripping):
 *
 *   node tools/dev-issuer/src/cli.ts serve --state <dir> [--port 8090] [--host 127.0.0.1] [--issuer-url <url>] [--secrets <dir>]
 *   node tools/dev-issuer/src/cli.ts token <subject> [--role <role>]... [--audience <aud>] [--ttl <seconds>] [--issuer <url>]
 *   npm run token -- alice --role admin
 *
 * `token` prints the access token alone on stdout, so `TOKEN=$(npm run --silent token -- alice)`
 * works; every failure is one line on stderr and a non-zero exit.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { createIssuer } from './issuer.ts';

const DEFAULT_ISSUER_URL = 'http://127.0.0.1:8090';
const REPO_ROOT = join(import.meta.dirname, '../../..');

class CliError extends Error {}

const integer = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || n < min || n > max)
    throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
  return n;
};

const program = new Command('dev-issuer')
  .description('Development OIDC issuer: serves discovery, JWKS and POST /token; signs access tokens for local use')
  .showSuggestionAfterError(false);

program
  .command('serve')
  .description('run the issuer until SIGTERM/SIGINT (always marked as a development issuer)')
  .requiredOption('--state <dir>', 'folder whose dev-issuer/signing-key.json keeps the key across restarts')
  .option('--port <port>', 'port to listen on (0: any free port)', integer(0, 65535), 8090)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--issuer-url <url>', "issuer identifier (the tokens' iss) if not http://<host>:<port>")
  .option(
    '--secrets <dir>',
    "folder of registry-<client id>.password files: the client_credentials grant's clients (default: <state>/secrets)",
  )
  .action(async (opts: { state: string; port: number; host: string; issuerUrl?: string; secrets?: string }) => {
    const issuer = await createIssuer({
      stateDir: opts.state,
      secretsDir: opts.secrets ?? join(opts.state, 'secrets'),
      host: opts.host,
      port: opts.port,
      ...(opts.issuerUrl === undefined ? {} : { issuerUrl: opts.issuerUrl }),
      development: true,
      log: (line) => console.error(line),
    });
    const stop = () => void issuer.close().finally(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // Only now: whoever waits for this line may stop the issuer the moment it reads it.
    console.log(
      `dev-issuer listening on ${opts.host}:${issuer.port}, issuer ${issuer.url}, key ${issuer.keyFile} (kid ${issuer.kid})`,
    );
  });

program
  .command('token')
  .description('print an access token for <subject>, signed by the running issuer')
  .argument('<subject>', "the token's sub")
  .option(
    '--role <role>',
    "a role in the token's roles claim (repeatable)",
    (role: string, roles: string[]) => [...roles, role],
    [],
  )
  .option('--audience <aud>', "the token's aud (issuer default: cqrs-api)")
  .option(
    '--ttl <seconds>',
    'seconds until it expires (issuer default: 3600; negative: already expired)',
    integer(-86_400, 86_400),
  )
  .option('--issuer <url>', `issuer URL (default: $OIDC_ISSUER_URL, else .local-stack/env, else ${DEFAULT_ISSUER_URL})`)
  .action(async (subject: string, opts: { role: string[]; audience?: string; ttl?: number; issuer?: string }) => {
    const issuer = (opts.issuer ?? defaultIssuerUrl()).replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]/.test(issuer))
      throw new CliError(`the issuer URL must be an http(s) URL (got ${JSON.stringify(issuer)})`);
    const body = { sub: subject, roles: opts.role, aud: opts.audience, expiresIn: opts.ttl };
    let response: Response;
    try {
      response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      throw new CliError(
        `the development issuer at ${issuer} does not answer: run \`npm start\` (or \`npm run stack:up\`)`,
      );
    }
    const answer = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (!response.ok) {
      const why =
        typeof answer?.['error_description'] === 'string' ? answer['error_description'] : `HTTP ${response.status}`;
      throw new CliError(`the issuer at ${issuer} refused the token: ${why}`);
    }
    if (typeof answer?.['access_token'] !== 'string')
      throw new CliError(`${issuer}/token did not answer an access token: is that the development issuer?`);
    console.log(answer['access_token']);
  });

/** `OIDC_ISSUER_URL`, else the local stack's env file (what `npm start` runs against), else its default. */
function defaultIssuerUrl(): string {
  if (process.env['OIDC_ISSUER_URL']) return process.env['OIDC_ISSUER_URL'];
  const envFile = join(process.env['CQRS_STACK_STATE'] ?? join(REPO_ROOT, '.local-stack'), 'env');
  if (existsSync(envFile)) {
    const line = /^OIDC_ISSUER_URL=(.*)$/m.exec(readFileSync(envFile, 'utf8'));
    if (line?.[1]?.trim()) return line[1].trim();
  }
  return DEFAULT_ISSUER_URL;
}

// tools/local-stack/stack.sh tags the processes it starts with `-Dcqrs.local.stack=<service>@<state>`
// on their command line, to recognise its own by pid; here it means nothing.
const argv = process.argv.filter((arg) => !arg.startsWith('-Dcqrs.local.stack='));
try {
  await program.parseAsync(argv);
} catch (error) {
  // Known failures and the issuer's own (port in use, unusable key file) alike: one line, no stack trace.
  console.error(`dev-issuer: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
