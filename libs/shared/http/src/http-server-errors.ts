import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { problemTypeUri } from './problem-details.filter';

/**
 * Largest request line plus headers a service reads, in bytes: twice Node's default (16 KiB), so
 * that a merely long parameter (a `minVersion` of 2000 astral characters is 24 KB percent-encoded)
 * reaches the app's own validation and gets its 400 naming it.
 */
export const DEFAULT_MAX_HEADER_SIZE = 32 * 1024;

// What Node answers to each parser error by default, with a code for clients to switch on.
const answers: Record<string, { status: number; title: string; code: string; detail: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    title: 'Request Header Fields Too Large',
    code: 'REQUEST_HEADER_FIELDS_TOO_LARGE',
    detail: 'The request line and headers exceed the limit of this service',
  },
  HPE_REQUEST_TIMEOUT: {
    status: 408,
    title: 'Request Timeout',
    code: 'REQUEST_TIMEOUT',
    detail: 'The request did not arrive in time',
  },
};
const malformed = {
  status: 400,
  title: 'Bad Request',
  code: 'MALFORMED_REQUEST',
  detail: 'The request is not valid HTTP/1.1',
};

/**
 * Makes the HTTP server answer requests it cannot parse (headers over `maxHeaderSize`, malformed
 * HTTP) with problem+json, as every other error, instead of Node's bare status line; the
 * connection is closed after the answer, as Node does.
 */
export function answerClientErrorsWithProblems(server: Server, maxHeaderSize: number): void {
  // The `maxHeaderSize` option of http.createServer, which Nest does not pass; Node reads it from
  // the server on every new connection.
  (server as Server & { maxHeaderSize?: number }).maxHeaderSize = maxHeaderSize;
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const answer = answers[error.code ?? ''] ?? malformed;
    const detail = answer.status === 431 ? `${answer.detail} (${maxHeaderSize} bytes)` : answer.detail;
    const body = JSON.stringify({
      type: problemTypeUri(answer.code),
      title: answer.title,
      status: answer.status,
      detail,
      code: answer.code,
    });
    socket.end(
      `HTTP/1.1 ${answer.status} ${answer.title}\r\n` +
        'Content-Type: application/problem+json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}
