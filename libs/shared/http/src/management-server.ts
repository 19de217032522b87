import type { INestApplication } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isManagementPath } from './auth/management-paths';
import { answerClientErrorsWithProblems } from './http-server-errors';
import { PROBLEM_JSON } from './openapi';
import { problemTypeUri } from './problem-details.filter';

interface PortSplit {
  /** The management server's port once it listens; until then one port serves everything. */
  port?: number;
  server?: Server;
}

const splits = new WeakMap<INestApplication, PortSplit>();

interface Req {
  path: string;
  url: string;
  socket: { localPort?: number };
}
interface Res {
  status(code: number): Res;
  type(type: string): Res;
  send(body: string): void;
}

/**
 * Installs the split of an app's endpoints between its API port and its management port: a
 * request for a management path (health, metrics, docs) on the API port, or for anything else on
 * the management port, is answered 404 as if the route did not exist. Call before the app
 * listens; the split starts with {@link listenManagement}.
 */
export function splitManagementPort(app: INestApplication): void {
  const split: PortSplit = {};
  splits.set(app, split);
  app.use((req: Req, res: Res, next: () => void) => {
    if (split.port === undefined || (req.socket.localPort === split.port) === isManagementPath(req.path)) return next();
    res
      .status(404)
      .type(PROBLEM_JSON)
      .send(
        JSON.stringify({
          type: problemTypeUri('ROUTE_NOT_FOUND'),
          title: 'Not Found',
          status: 404,
          detail: `Cannot ${(req as Req & { method?: string }).method ?? 'GET'} ${req.path} on this port`,
          code: 'ROUTE_NOT_FOUND',
          instance: req.url,
        }),
      );
  });
}

/**
 * Opens the management port (0: any free one) on the same request handler, with the API
 * server's header limit and problem answers; it closes when the app closes. Returns its URL.
 */
export async function listenManagement(
  app: INestApplication,
  port: number,
  host: string,
  maxHeaderSize: number,
): Promise<string> {
  const split = splits.get(app);
  if (!split) throw new Error('listenManagement needs createHttpApp({ managementPort }) first');
  const server = createServer(app.getHttpAdapter().getInstance());
  answerClientErrorsWithProblems(server, maxHeaderSize);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  split.server = server;
  split.port = (server.address() as AddressInfo).port;
  const adapter = app.getHttpAdapter();
  const close = adapter.close.bind(adapter);
  // After the API has drained (health keeps answering meanwhile), then at once: probes and
  // scrapers hold keep-alive connections that would keep a plain close() waiting.
  adapter.close = async () => {
    await close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  return `http://${host.includes(':') ? `[${host}]` : host}:${split.port}`;
}
