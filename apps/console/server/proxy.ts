import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { problem, sendProblem } from './problem';
import type { Upstream } from './routes';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and what must not cross the proxy either way. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);
/** Never forwarded upstream: the console uses no cookies, and the apps see the console as the client. */
const NOT_UPSTREAM = new Set([
  'cookie',
  'origin',
  'referer',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
]);
/** Never forwarded to the browser: no upstream sets cookies on the console's origin. */
const NOT_DOWNSTREAM = new Set(['set-cookie', 'set-cookie2']);

/** Largest request body passed on; the apps' own limit (64 kB) is far below it. */
export const MAX_PROXY_BODY_BYTES = 1024 * 1024;

function filterHeaders(headers: IncomingHttpHeaders, drop: Set<string>): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase()),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || drop.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Passes one request to an upstream and streams its answer back. The `Authorization` header goes
 * through as sent: the console never holds a token. An upstream that cannot be reached is a 502
 * problem, one that does not answer in time a 504.
 */
export function proxyRequest(
  req: IncomingMessage,
  res: ServerResponse,
  upstream: Upstream,
  target: URL,
  timeoutMs: number,
  onUpstreamError: (message: string) => void,
): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_PROXY_BODY_BYTES) {
    sendProblem(res, problem(413, 'PAYLOAD_TOO_LARGE', `the body is over ${MAX_PROXY_BODY_BYTES} bytes`), {
      connection: 'close',
    });
    req.resume();
    return;
  }
  const headers = filterHeaders(req.headers, NOT_UPSTREAM);
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  headers['x-forwarded-host'] = req.headers.host ?? '';
  headers['x-forwarded-proto'] = 'http';

  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstreamReq = send(target, { method: req.method, headers, timeout: timeoutMs });
  let failed = false;
  const fail = (status: 502 | 504, code: string, detail: string) => {
    if (failed || res.destroyed) return;
    failed = true;
    onUpstreamError(`${req.method} ${target.origin}${target.pathname}: ${detail}`);
    upstreamReq.destroy();
    sendProblem(res, problem(status, code, detail, { upstream }));
  };
  upstreamReq.on('timeout', () =>
    fail(504, 'UPSTREAM_TIMEOUT', `the ${upstream} (${target.origin}) did not answer within ${timeoutMs} ms`),
  );
  upstreamReq.on('error', (err: NodeJS.ErrnoException) =>
    fail(
      502,
      'UPSTREAM_UNAVAILABLE',
      `the ${upstream} (${target.origin}) cannot be reached: ${err.code ?? err.message}`,
    ),
  );
  upstreamReq.on('response', (upstreamRes) => {
    res.writeHead(upstreamRes.statusCode ?? 502, filterHeaders(upstreamRes.headers, NOT_DOWNSTREAM));
    upstreamRes.pipe(res);
    upstreamRes.on('error', () => res.destroy());
  });
  // the browser went away: stop the upstream call too
  res.on('close', () => {
    if (!res.writableFinished) upstreamReq.destroy();
  });

  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > MAX_PROXY_BODY_BYTES) {
      failed = true;
      req.unpipe(upstreamReq);
      upstreamReq.destroy();
      sendProblem(res, problem(413, 'PAYLOAD_TOO_LARGE', `the body is over ${MAX_PROXY_BODY_BYTES} bytes`), {
        connection: 'close',
      });
      req.resume();
    }
  });
  req.pipe(upstreamReq);
}
