import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConsoleConfig } from './config';
import { createConsoleServer } from './console-server';

/**
 * The production server over real loopback HTTP: a stub upstream stands in for the apps and the
 * development issuer, and records what reached it.
 */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** Sends raw bytes and returns the raw answer (for requests fetch refuses to make). */
const raw = (port: number, request: string) =>
  new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });

describe('console server', () => {
  const seen: Seen[] = [];
  let upstream: Server;
  let consoleServer: Server;
  let base: string;
  let staticDir: string;
  let closedPort: number;
  const logged: string[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        if (req.url === '/token') {
          const parsed = JSON.parse(body) as { sub: string };
          if (parsed.sub === 'bad name') {
            res.writeHead(400, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: 'invalid_request', error_description: 'sub: must not contain spaces' }));
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ access_token: `token-for-${parsed.sub}`, token_type: 'Bearer', expires_in: 3600 }));
          return;
        }
        if (req.url === '/health/ready') {
          res.writeHead(503, { 'content-type': 'application/problem+json' });
          res.end(JSON.stringify({ status: 503, checks: { postgres: { status: 'down' } } }));
          return;
        }
        res.writeHead(req.method === 'POST' ? 201 : 200, {
          'content-type': 'application/json',
          etag: '"3"',
          'set-cookie': 'tracking=1',
          'x-correlation-id': 'c-1',
        });
        res.end(JSON.stringify({ taskId: 't-1', version: 3 }));
      });
    });
    const upstreamPort = await listen(upstream);
    const closed = createServer();
    closedPort = await listen(closed);
    await close(closed);

    staticDir = mkdtempSync(join(tmpdir(), 'console-page-'));
    mkdirSync(join(staticDir, 'assets'));
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(staticDir, 'assets', 'index-abc123.js'), 'console.log(1)');

    const up = `http://127.0.0.1:${upstreamPort}`;
    const parsed = parseConsoleConfig(
      {
        CONSOLE_PORT: '0',
        CONSOLE_COMMANDS_URL: up,
        CONSOLE_QUERIES_URL: `http://127.0.0.1:${closedPort}`,
        CONSOLE_ADMIN_URL: up,
        CONSOLE_COMMANDS_MANAGEMENT_URL: up,
        CONSOLE_DEV_ISSUER_URL: up,
        CONSOLE_TRACE_URL: 'http://127.0.0.1:16686/trace/{traceId}',
        CONSOLE_STATIC_DIR: staticDir,
      },
      staticDir,
    );
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    consoleServer = createConsoleServer(parsed.config, (line) => logged.push(line));
    base = `http://127.0.0.1:${await listen(consoleServer)}`;
  });

  afterAll(async () => {
    await close(consoleServer);
    await close(upstream);
    rmSync(staticDir, { recursive: true, force: true });
  });

  beforeEach(() => (seen.length = 0));

  it('passes a command through with its token, body and headers, and its answer back', async () => {
    const res = await fetch(`${base}/api/commands/tasks?x=1`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer abc',
        'content-type': 'application/json',
        'idempotency-key': 'k-1',
        cookie: 'session=secret',
      },
      body: JSON.stringify({ title: 'Write notes' }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ taskId: 't-1', version: 3 });
    expect(res.headers.get('etag')).toBe('"3"');
    expect(res.headers.get('x-correlation-id')).toBe('c-1');
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(seen).toEqual([
      expect.objectContaining({ method: 'POST', url: '/tasks?x=1', body: '{"title":"Write notes"}' }),
    ]);
    expect(seen[0]?.headers).toMatchObject({ authorization: 'Bearer abc', 'idempotency-key': 'k-1' });
    expect(seen[0]?.headers.cookie).toBeUndefined();
  });

  it("maps /api/admin to the projector's /admin/cqrs", async () => {
    const res = await fetch(`${base}/api/admin/dead-letters/7/redrive`, { method: 'POST' });
    expect(res.status).toBe(201);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /admin/cqrs/dead-letters/7/redrive']);
  });

  it('answers 502 problem+json when an upstream is down', async () => {
    const res = await fetch(`${base}/api/queries/me/tasks`);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({
      status: 502,
      code: 'UPSTREAM_UNAVAILABLE',
      title: 'Bad Gateway',
      upstream: 'query service',
      detail: expect.stringContaining('ECONNREFUSED'),
    });
    expect(logged.at(-1)).toContain(`127.0.0.1:${closedPort}`);
  });

  it("passes an app's readiness on as it answered", async () => {
    const res = await fetch(`${base}/api/health/command-service`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ checks: { postgres: { status: 'down' } } });
    expect(seen.map((s) => s.url)).toEqual(['/health/ready']);
  });

  it('serves the page: the SPA fallback, immutable assets, 404 for a missing asset', async () => {
    const page = await fetch(`${base}/operations`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(await page.text()).toContain('<title>console</title>');

    const asset = await fetch(`${base}/assets/index-abc123.js`);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    const again = await fetch(`${base}/assets/index-abc123.js`, {
      headers: { 'if-none-match': asset.headers.get('etag') ?? '' },
    });
    expect(again.status).toBe(304);

    const missing = await fetch(`${base}/assets/index-old.js`);
    expect(missing.status).toBe(404);
    expect((await missing.json()) as unknown).toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  it('tells the page its settings in /config.json', async () => {
    const res = await fetch(`${base}/config.json`);
    expect(await res.json()).toEqual({
      devTokens: true,
      traceUrlTemplate: 'http://127.0.0.1:16686/trace/{traceId}',
    });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('gets a development token from the issuer, and passes its refusal on as a 400', async () => {
    const post = (body: unknown, contentType = 'application/json') =>
      fetch(`${base}/api/dev-token`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: JSON.stringify(body),
      });
    const ok = await post({ sub: 'alice', roles: ['admin'] });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ access_token: 'token-for-alice', expires_in: 3600 });
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ sub: 'alice', roles: ['admin'] });

    const refused = await post({ sub: 'bad name' });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ detail: 'sub: must not contain spaces' });
    expect((await post({ sub: 'alice' }, 'text/plain')).status).toBe(415);
    expect((await post({ sub: 'alice', aud: 'x' })).status).toBe(400);
  });

  it.each([
    ['a traversal', 'GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', '400'],
    ['an unknown method', 'BREW /tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', '400'],
    ['a TRACE', 'TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', '405'],
    ['an absolute-form target', 'GET http://evil.example/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', '400'],
    ['garbage', 'NOT HTTP AT ALL\r\n\r\n', '400'],
    ['headers over 16 KiB', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, '431'],
  ])('answers %s with a 4xx problem, never a 500', async (_case, request, status) => {
    const answer = await raw(Number(new URL(base).port), request);
    expect(answer.split('\r\n')[0]).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(answer.toLowerCase()).toContain('content-type: application/problem+json');
  });
});
