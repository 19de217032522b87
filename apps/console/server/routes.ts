import { HEALTH_APPS, withPath, type ConsoleConfig, type HealthApp } from './config';
import { problem, type Problem } from './problem';

export type Route =
  | { kind: 'healthz' }
  | { kind: 'config' }
  | { kind: 'dev-token' }
  | { kind: 'proxy'; upstream: Upstream; target: URL }
  | { kind: 'static'; path: string }
  | { kind: 'refused'; problem: Problem; headers?: Record<string, string> };

/** Which upstream a proxied request goes to, named for error messages. */
export type Upstream = 'command service' | 'query service' | 'projector admin API' | HealthApp;

const PROXY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const READ_METHODS = ['GET', 'HEAD'];

/**
 * Decides what a request is, from its method and raw request target, without any I/O. Whatever a
 * client sends ends as a route or a 4xx problem: never an exception.
 */
export function routeRequest(method: string, rawUrl: string, config: ConsoleConfig): Route {
  // origin-form only: `GET http://elsewhere/` (absolute-form) and `OPTIONS *` are not for us
  if (!rawUrl.startsWith('/') || rawUrl.startsWith('//'))
    return refused(400, 'MALFORMED_REQUEST', 'the request target must be a path (origin-form)');
  const queryAt = rawUrl.indexOf('?');
  const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const query = queryAt === -1 ? '' : rawUrl.slice(queryAt);
  const segments = path.slice(1).split('/');
  for (const segment of segments) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return refused(400, 'MALFORMED_REQUEST', 'the path is not valid percent-encoded UTF-8');
    }
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (decoded === '.' || decoded === '..' || /[/\\\u0000-\u001f\u007f]/.test(decoded))
      return refused(
        400,
        'MALFORMED_REQUEST',
        'the path may not hold dot segments, encoded slashes or control characters',
      );
  }
  const allow = (methods: string[]): Route | null =>
    methods.includes(method)
      ? null
      : refused(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`, { allow: methods.join(', ') });

  if (path === '/healthz') return allow(READ_METHODS) ?? { kind: 'healthz' };
  if (path === '/config.json') return allow(READ_METHODS) ?? { kind: 'config' };
  if (path === '/api' || path.startsWith('/api/')) {
    const [, area, ...rest] = segments;
    const tail = rest.length > 0 ? `/${rest.join('/')}` : '';
    switch (area) {
      case 'commands':
        return allow(PROXY_METHODS) ?? proxy('command service', config.commandsUrl, tail, query);
      case 'queries':
        return allow(PROXY_METHODS) ?? proxy('query service', config.queriesUrl, tail, query);
      case 'admin':
        return allow(PROXY_METHODS) ?? proxy('projector admin API', config.adminUrl, `/admin/cqrs${tail}`, query);
      case 'health': {
        const app = HEALTH_APPS.find((a) => rest.length === 1 && a === rest[0]);
        if (app === undefined)
          return refused(
            404,
            'ROUTE_NOT_FOUND',
            `no such app: /api/health/<app> takes one of ${HEALTH_APPS.join(', ')}`,
          );
        return allow(READ_METHODS) ?? proxy(app, config.healthUrls[app], '/health/ready', '');
      }
      case 'dev-token':
        if (config.devIssuerUrl !== null && rest.length === 0) return allow(['POST']) ?? { kind: 'dev-token' };
    }
    return refused(404, 'ROUTE_NOT_FOUND', `no such route: ${path}`);
  }
  return allow(READ_METHODS) ?? { kind: 'static', path: segments.map((s) => decodeURIComponent(s)).join('/') };
}

function proxy(upstream: Upstream, base: URL, tail: string, query: string): Route {
  return { kind: 'proxy', upstream, target: withPath(base, tail, query) };
}

function refused(status: number, code: string, detail: string, headers?: Record<string, string>): Route {
  return { kind: 'refused', problem: problem(status, code, detail), ...(headers ? { headers } : {}) };
}
