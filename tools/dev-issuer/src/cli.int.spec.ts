import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { createIssuer, type Issuer } from './issuer.ts';

const root = join(__dirname, '../../..');
const cliPath = join(root, 'tools/dev-issuer/src/cli.ts');
// The CLI is TypeScript run by Node 24 directly, as `npm run token` does.
const node = existsSync(join(root, 'node_modules/.bin/node')) ? join(root, 'node_modules/.bin/node') : process.execPath;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a developer's shell that names no issuer, and a state dir without an env file. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CQRS_STACK_STATE: emptyDir(), ...extra };
  if (!('OIDC_ISSUER_URL' in extra)) delete env['OIDC_ISSUER_URL'];
  return env;
}

function start(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(node, [cliPath, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

function cli(args: string[], env = cleanEnv()): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = start(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const dirs: string[] = [];
function emptyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dev-issuer-cli-'));
  dirs.push(dir);
  return dir;
}

const verify = (issuer: Issuer, token: string, audience = 'cqrs-api') =>
  jwtVerify(token, createRemoteJWKSet(new URL(`${issuer.url}/jwks`)), { issuer: issuer.url, audience, typ: 'at+jwt' });

/** One readable line on stderr: no stack trace, no Node warning. */
const expectOneLine = (run: CliRun, message: string | RegExp) => {
  expect(run.code).not.toBe(0);
  expect(run.stdout).toBe('');
  expect(run.stderr.trimEnd().split('\n')).toEqual([
    typeof message === 'string' ? message : expect.stringMatching(message),
  ]);
};

let issuer: Issuer;
let downUrl: string;
beforeAll(async () => {
  issuer = await createIssuer({ development: true });
  const stopped = await createIssuer({ development: true });
  downUrl = stopped.url;
  await stopped.close();
});
afterAll(async () => {
  await issuer.close();
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

describe('token', () => {
  it('prints only a token, which verifies with the subject, roles and audience asked for', async () => {
    const run = await cli([
      'token',
      'alice',
      '--role',
      'admin',
      '--role',
      'ops',
      '--audience',
      'reports-api',
      '--issuer',
      issuer.url,
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const { payload } = await verify(issuer, run.stdout.trim(), 'reports-api');
    expect(payload).toMatchObject({ iss: issuer.url, sub: 'alice', aud: 'reports-api', roles: ['admin', 'ops'] });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
  });

  it('finds the issuer in OIDC_ISSUER_URL', async () => {
    const run = await cli(['token', 'bob'], cleanEnv({ OIDC_ISSUER_URL: issuer.url }));
    expect(run.code).toBe(0);
    await expect(verify(issuer, run.stdout.trim())).resolves.toMatchObject({ payload: { sub: 'bob', roles: [] } });
  });

  it("else in the local stack's env file", async () => {
    const state = emptyDir();
    writeFileSync(
      join(state, 'env'),
      `KAFKA_BROKERS=127.0.0.1:9092\nOIDC_ISSUER_URL=${issuer.url}\nOIDC_AUDIENCE=cqrs-api\n`,
    );
    const run = await cli(['token', 'carol'], cleanEnv({ CQRS_STACK_STATE: state }));
    expect(run.code).toBe(0);
    await expect(verify(issuer, run.stdout.trim())).resolves.toMatchObject({ payload: { sub: 'carol' } });
  });

  it('--ttl sets the lifetime; a negative one gives a token jose rejects as expired', async () => {
    const run = await cli(['token', 'dave', '--ttl', '-60', '--issuer', issuer.url]);
    expect(run.code).toBe(0);
    await expect(verify(issuer, run.stdout.trim())).rejects.toBeInstanceOf(errors.JWTExpired);
  });

  it('says how to start the issuer when it does not answer', async () => {
    const run = await cli(['token', 'alice', '--issuer', downUrl]);
    expectOneLine(
      run,
      `dev-issuer: the development issuer at ${downUrl} does not answer: run \`npm start\` (or \`npm run stack:up\`)`,
    );
  });

  it("passes on the issuer's reason when it refuses", async () => {
    const run = await cli(['token', ' alice', '--issuer', issuer.url]);
    expectOneLine(
      run,
      `dev-issuer: the issuer at ${issuer.url} refused the token: sub: must be non-blank, without leading or trailing whitespace`,
    );
  });

  it.each([
    ['no subject', ['token'], /missing required argument 'subject'/],
    ['a ttl that is not a number', ['token', 'alice', '--ttl', 'soon'], /--ttl .*'soon' is invalid/],
    [
      'a ttl beyond a day',
      ['token', 'alice', '--ttl', '90000'],
      /--ttl .*'90000' is invalid. must be an integer from -86400 to 86400/,
    ],
    [
      'an issuer URL that is not http',
      ['token', 'alice', '--issuer', 'ftp://issuer.test'],
      /the issuer URL must be an http\(s\) URL/,
    ],
    ['an unknown option', ['token', 'alice', '--scope', 'x'], /unknown option '--scope'/],
  ])('refuses %s with one line', async (_case, args, message) => {
    expectOneLine(await cli(args), message);
  });
});

describe('serve', () => {
  /** Starts `serve`, resolves with its listening line's details once it printed it. */
  async function serve(state: string, extra: string[] = []) {
    const child = start(['serve', '--state', state, '--port', '0', ...extra], cleanEnv());
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (d) => {
        stdout += d;
        if (stdout.includes('\n')) resolve(stdout);
      });
      void exited.then((code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
    });
    const match = /^dev-issuer listening on 127\.0\.0\.1:(\d+), issuer (\S+), key (\S+) \(kid (\S+)\)\n$/.exec(line);
    if (!match) throw new Error(`unexpected listening line: ${line}`);
    const [, port, url, keyFile, kid] = match as unknown as [string, string, string, string, string];
    return { child, exited, port: Number(port), url, keyFile, kid, output: () => stdout + stderr };
  }

  it('logs one line, serves a development issuer, exits 0 on SIGTERM, and keeps its key for the next start', async () => {
    const state = emptyDir();
    // the marker tools/local-stack/stack.sh adds to recognise its processes is ignored
    const first = await serve(state, [`-Dcqrs.local.stack=issuer@${state}`]);
    expect(first.url).toBe(`http://127.0.0.1:${first.port}`);
    expect(first.keyFile).toBe(join(state, 'dev-issuer', 'signing-key.json'));
    const discovery = (await (await fetch(`${first.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(discovery).toMatchObject({ issuer: first.url, cqrs_development_issuer: true });
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output().trimEnd().split('\n')).toHaveLength(1);

    const second = await serve(state);
    second.child.kill('SIGTERM');
    expect([await second.exited, second.kid]).toEqual([0, first.kid]);
  });

  it('takes the client_credentials clients from <state>/secrets, and logs neither secrets nor tokens', async () => {
    const state = emptyDir();
    mkdirSync(join(state, 'secrets'), { mode: 0o700 });
    writeFileSync(join(state, 'secrets', 'registry-cqrs-admin.password'), 'the-admin-secret', { mode: 0o600 });
    const running = await serve(state);
    try {
      const ask = (secret: string) =>
        fetch(`${running.url}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: 'cqrs-admin',
            client_secret: secret,
          }).toString(),
        });
      const ok = await ask('the-admin-secret');
      expect(ok.status).toBe(200);
      const { access_token } = (await ok.json()) as { access_token: string };
      expect((await ask('a-wrong-secret')).status).toBe(401);
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
      expect(running.output()).not.toMatch(/the-admin-secret|a-wrong-secret/);
      expect(running.output()).not.toContain(access_token.split('.')[1]);
    } finally {
      running.child.kill('SIGKILL');
    }
  });

  it('refuses a port in use with one line', async () => {
    const run = await cli(['serve', '--state', emptyDir(), '--port', String(issuer.port)]);
    expectOneLine(run, `dev-issuer: port ${issuer.port} on 127.0.0.1 is already in use`);
  });

  it('requires --state', async () => {
    expectOneLine(await cli(['serve', '--port', '0']), /required option '--state <dir>' not specified/);
  });
});
