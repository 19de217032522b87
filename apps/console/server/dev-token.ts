import type { IncomingMessage, ServerResponse } from 'node:http';
import { withPath } from './config';
import { problem, sendProblem } from './problem';

/** Largest `POST /api/dev-token` body read: `{"sub": …, "roles": […]}` is a few dozen bytes. */
const MAX_BODY_BYTES = 4096;

export type DevTokenRequest = { sub: string; roles: string[] };

/**
 * Checks the shape of a `POST /api/dev-token` body; the issuer checks the values themselves
 * (identifier rules) and its refusal is passed on as a 400.
 */
export function parseDevTokenRequest(body: unknown): DevTokenRequest | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const unknown = Object.keys(body).filter((k) => k !== 'sub' && k !== 'roles');
  if (unknown.length > 0) return `unknown field(s) ${unknown.join(', ')}`;
  const { sub, roles = [] } = body as { sub?: unknown; roles?: unknown };
  if (typeof sub !== 'string' || sub.trim() === '') return 'sub: a user name is required';
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) return 'roles: must be an array of strings';
  return { sub, roles };
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(null);
        req.removeAllListeners('data');
        req.resume();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Gets a token from the development issuer for the page's sign-in form. The token goes to the
 * browser and nowhere else: this server keeps nothing.
 */
export async function handleDevToken(
  req: IncomingMessage,
  res: ServerResponse,
  issuerUrl: URL,
  timeoutMs: number,
  onUpstreamError: (message: string) => void,
): Promise<void> {
  const contentType = String(req.headers['content-type'] ?? '');
  // JSON only: a cross-site form can't send it without a CORS preflight, which this server never grants
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    req.resume();
    return sendProblem(res, problem(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the request as application/json'));
  }
  const text = await readBody(req);
  if (text === null)
    return sendProblem(res, problem(413, 'PAYLOAD_TOO_LARGE', `the body is over ${MAX_BODY_BYTES} bytes`), {
      connection: 'close',
    });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return sendProblem(res, problem(400, 'MALFORMED_JSON', 'the body is not JSON'));
  }
  const parsed = parseDevTokenRequest(body);
  if (typeof parsed === 'string') return sendProblem(res, problem(400, 'VALIDATION_FAILED', parsed));

  const tokenUrl = withPath(issuerUrl, '/token');
  let answer: Response;
  try {
    answer = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(parsed),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const reason =
      err instanceof Error ? ((err.cause as NodeJS.ErrnoException | undefined)?.code ?? err.message) : String(err);
    onUpstreamError(`POST ${tokenUrl.href}: ${reason}`);
    return sendProblem(
      res,
      problem(
        502,
        'UPSTREAM_UNAVAILABLE',
        `the development issuer (${issuerUrl.origin}) cannot be reached: ${reason}`,
        {
          upstream: 'development issuer',
        },
      ),
    );
  }
  const json = (await answer.json().catch(() => null)) as {
    access_token?: unknown;
    expires_in?: unknown;
    error_description?: unknown;
  } | null;
  if (answer.status === 400)
    return sendProblem(
      res,
      problem(400, 'VALIDATION_FAILED', String(json?.error_description ?? 'the issuer refused the request')),
    );
  if (!answer.ok || typeof json?.access_token !== 'string') {
    onUpstreamError(`POST ${tokenUrl.href}: answered ${answer.status}`);
    return sendProblem(
      res,
      problem(502, 'UPSTREAM_FAILED', `the development issuer answered ${answer.status}`, {
        upstream: 'development issuer',
      }),
    );
  }
  const out = JSON.stringify({ access_token: json.access_token, expires_in: json.expires_in });
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(out);
}
