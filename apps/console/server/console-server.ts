import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ConsoleConfig } from './config';
import { handleDevToken } from './dev-token';
import { problem, sendProblem } from './problem';
import { proxyRequest } from './proxy';
import { routeRequest } from './routes';
import { SECURITY_HEADERS } from './security-headers';
import { serveStatic } from './static-files';

/** What the page reads at start (`/config.json`): the server's settings the page needs. */
export interface PageConfig {
  /** `POST /api/dev-token` is there (the server has `CONSOLE_DEV_ISSUER_URL`). */
  devTokens: boolean;
  /** A trace's URL with `{traceId}` for its id, or null when none is configured. */
  traceUrlTemplate: string | null;
}

export const pageConfig = (config: ConsoleConfig): PageConfig => ({
  devTokens: config.devIssuerUrl !== null,
  traceUrlTemplate: config.traceUrlTemplate,
});

export type Log = (line: string) => void;

/**
 * Answers one request, or returns false for a request for the page's files when `serveFiles` is
 * off (the Vite dev server serves them itself and uses this for everything else).
 */
export function handleConsoleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  config: ConsoleConfig,
  log: Log,
  serveFiles: boolean,
): boolean {
  const route = routeRequest(req.method ?? '', req.url ?? '', config);
  const upstreamError = (message: string) => log(`upstream error: ${message}`);
  switch (route.kind) {
    case 'static':
      if (!serveFiles) return false;
      serveStatic(req, res, config.staticDir, route.path).catch((err: unknown) => internalError(res, log, err));
      return true;
    case 'refused':
      if (!serveFiles && !(req.url ?? '').startsWith('/api')) return false;
      sendProblem(res, route.problem, route.headers);
      return true;
    case 'healthz':
      sendJson(res, 200, { status: 'ok' });
      return true;
    case 'config':
      sendJson(res, 200, pageConfig(config));
      return true;
    case 'dev-token':
      // routeRequest answers this route only when the issuer is configured
      handleDevToken(req, res, config.devIssuerUrl as URL, config.upstreamTimeoutMs, upstreamError).catch(
        (err: unknown) => internalError(res, log, err),
      );
      return true;
    case 'proxy':
      proxyRequest(req, res, route.upstream, route.target, config.upstreamTimeoutMs, upstreamError);
      return true;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : json);
}

function internalError(res: ServerResponse, log: Log, err: unknown): void {
  log(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  sendProblem(res, problem(500, 'INTERNAL', 'the console server failed; its log says why'));
}

/**
 * Node could not parse the request (bad request line, headers over `maxHeaderSize`, …): answer a
 * problem and close, as the apps do, rather than dropping the connection without a word.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || (err as { code?: string }).code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify(
    tooLarge
      ? problem(431, 'REQUEST_HEADER_FIELDS_TOO_LARGE', 'the request line and headers are too large')
      : problem(400, 'MALFORMED_REQUEST', 'the request could not be parsed'),
  );
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/problem+json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      Object.entries(SECURITY_HEADERS)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      `connection: close\r\n\r\n${body}`,
  );
}

/** The production server: the built page, `/config.json`, the API proxy, security headers on every answer. */
export function createConsoleServer(config: ConsoleConfig, log: Log): Server {
  const server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    try {
      handleConsoleRequest(req, res, config, log, true);
    } catch (err) {
      internalError(res, log, err);
    }
  });
  server.on('clientError', onClientError);
  return server;
}
