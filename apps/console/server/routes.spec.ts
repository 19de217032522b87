import { parseConsoleConfig, type ConsoleConfig } from './config';
import { routeRequest, type Route } from './routes';

const parsed = parseConsoleConfig({ CONSOLE_ADMIN_URL: 'http://projector:3002/prefix' }, '/srv/public');
if (!parsed.ok) throw new Error('test config');
const config: ConsoleConfig = parsed.config;
const withIssuer: ConsoleConfig = { ...config, devIssuerUrl: new URL('http://127.0.0.1:8090') };

const target = (route: Route) => (route.kind === 'proxy' ? `${route.upstream} ${route.target.href}` : route.kind);
const refusal = (route: Route) =>
  route.kind === 'refused' ? `${route.problem.status} ${route.problem.code}` : `not refused: ${route.kind}`;

describe('routeRequest', () => {
  it('sends each API prefix to its upstream, with the rest of the path and the query', () => {
    expect(target(routeRequest('POST', '/api/commands/tasks/1/start', config))).toBe(
      'command service http://127.0.0.1:3000/tasks/1/start',
    );
    expect(target(routeRequest('GET', '/api/queries/me/tasks?limit=100&cursor=a%2Bb', config))).toBe(
      'query service http://127.0.0.1:3001/me/tasks?limit=100&cursor=a%2Bb',
    );
    expect(target(routeRequest('DELETE', '/api/admin/dead-letters/42', config))).toBe(
      'projector admin API http://projector:3002/prefix/admin/cqrs/dead-letters/42',
    );
  });

  it("sends /api/health/<app> to that app's /health/ready", () => {
    expect(target(routeRequest('GET', '/api/health/command-service', config))).toBe(
      'command-service http://127.0.0.1:9000/health/ready',
    );
    expect(target(routeRequest('GET', '/api/health/outbox-relay', config))).toBe(
      'outbox-relay http://127.0.0.1:3003/health/ready',
    );
    expect(refusal(routeRequest('GET', '/api/health/postgres', config))).toBe('404 ROUTE_NOT_FOUND');
    expect(refusal(routeRequest('POST', '/api/health/projector', config))).toBe('405 METHOD_NOT_ALLOWED');
  });

  it('serves the page for any other GET, and /config.json and /healthz itself', () => {
    expect(routeRequest('GET', '/operations', config)).toEqual({ kind: 'static', path: 'operations' });
    expect(routeRequest('GET', '/', config)).toEqual({ kind: 'static', path: '' });
    expect(routeRequest('HEAD', '/assets/index-abc.js?v=1', config)).toEqual({
      kind: 'static',
      path: 'assets/index-abc.js',
    });
    expect(routeRequest('GET', '/config.json', config)).toEqual({ kind: 'config' });
    expect(routeRequest('GET', '/healthz', config)).toEqual({ kind: 'healthz' });
  });

  it('answers 405 with Allow for methods a route does not take', () => {
    const route = routeRequest('POST', '/tasks', config);
    expect(route).toMatchObject({ kind: 'refused', problem: { status: 405 }, headers: { allow: 'GET, HEAD' } });
    expect(refusal(routeRequest('CONNECT', '/api/commands/tasks', config))).toBe('405 METHOD_NOT_ALLOWED');
    expect(refusal(routeRequest('PROPFIND', '/config.json', config))).toBe('405 METHOD_NOT_ALLOWED');
  });

  it('has /api/dev-token only when a development issuer is configured', () => {
    expect(refusal(routeRequest('POST', '/api/dev-token', config))).toBe('404 ROUTE_NOT_FOUND');
    expect(routeRequest('POST', '/api/dev-token', withIssuer)).toEqual({ kind: 'dev-token' });
    expect(refusal(routeRequest('GET', '/api/dev-token', withIssuer))).toBe('405 METHOD_NOT_ALLOWED');
  });

  it.each([
    ['a dot-dot segment', '/api/queries/../commands/tasks'],
    ['an encoded dot-dot segment', '/api/queries/%2e%2e/admin'],
    ['an encoded slash', '/api/admin/dead-letters/a%2Fb'],
    ['a backslash', '/assets/..%5c..%5cetc'],
    ['a NUL', '/index.html%00.js'],
    ['bad percent-encoding', '/api/queries/tasks/%E0%A4%A'],
    ['an absolute-form target', 'http://elsewhere/api/queries/me/tasks'],
    ['a protocol-relative path', '//elsewhere/x'],
    ['an asterisk', '*'],
  ])('refuses %s with a 400, never a 500', (_case, url) => {
    expect(refusal(routeRequest('GET', url, config))).toBe('400 MALFORMED_REQUEST');
  });

  it('answers 404 for an unknown API area', () => {
    expect(refusal(routeRequest('GET', '/api/metrics', config))).toBe('404 ROUTE_NOT_FOUND');
    expect(refusal(routeRequest('GET', '/api', config))).toBe('404 ROUTE_NOT_FOUND');
  });
});
