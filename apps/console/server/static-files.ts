import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { problem, sendProblem } from './problem';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite names what it builds into `assets/` by content hash: such a file never changes. */
export const cacheControlFor = (relativePath: string) =>
  relativePath.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';

/**
 * What a path not naming a file gets: the page itself (index.html), so `/tasks` and `/operations`
 * load the app, which then routes. A missing asset, or any path with a file extension, is a 404:
 * answering HTML for a stale script would break the page in a way that is hard to see.
 */
export const fallsBackToIndex = (relativePath: string) =>
  !relativePath.startsWith('assets/') && extname(relativePath) === '';

/** Serves the built page from `root`; `relativePath` is decoded and free of dot segments (routes.ts). */
export async function serveStatic(
  req: IncomingMessage,
  res: ServerResponse,
  root: string,
  relativePath: string,
): Promise<void> {
  const file = await findFile(root, relativePath === '' ? 'index.html' : relativePath);
  if (file !== null) return sendFile(req, res, file.path, file.size, file.mtimeMs, cacheControlFor(relativePath));
  if (fallsBackToIndex(relativePath)) {
    const index = await findFile(root, 'index.html');
    if (index !== null) return sendFile(req, res, index.path, index.size, index.mtimeMs, 'no-cache');
    return sendProblem(res, problem(404, 'PAGE_NOT_BUILT', `no index.html in ${root}: run nx run console:build`));
  }
  sendProblem(res, problem(404, 'FILE_NOT_FOUND', `no such file: /${relativePath}`));
}

async function findFile(root: string, relativePath: string) {
  const path = resolve(join(root, relativePath));
  // routes.ts already refused dot segments; this keeps any path inside the folder regardless
  if (!path.startsWith(root + sep)) return null;
  try {
    const info = await stat(path);
    return info.isFile() ? { path, size: info.size, mtimeMs: info.mtimeMs } : null;
  } catch {
    return null;
  }
}

function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  size: number,
  mtimeMs: number,
  cacheControl: string,
): void {
  const etag = `W/"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
  const headers = {
    'content-type': CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
    'cache-control': cacheControl,
    etag,
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(path);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
