import { parseConsoleConfig, withPath } from './config';

const parse = (env: Record<string, string>) => parseConsoleConfig(env, '/srv/console/public');

describe('parseConsoleConfig', () => {
  it('defaults to the apps on their local ports', () => {
    const parsed = parse({});
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const { config } = parsed;
    expect(config.port).toBe(4200);
    expect(config.host).toBe('0.0.0.0');
    expect(config.commandsUrl.href).toBe('http://127.0.0.1:3000/');
    expect(config.queriesUrl.href).toBe('http://127.0.0.1:3001/');
    expect(config.adminUrl.href).toBe('http://127.0.0.1:3002/');
    expect(Object.fromEntries(Object.entries(config.healthUrls).map(([app, url]) => [app, url.port]))).toEqual({
      'command-service': '9000',
      'query-service': '9001',
      projector: '3002',
      'outbox-relay': '3003',
    });
    expect(config.devIssuerUrl).toBeNull();
    expect(config.traceUrlTemplate).toBeNull();
    expect(config.staticDir).toBe('/srv/console/public');
  });

  it('takes every setting from the environment', () => {
    const parsed = parse({
      CONSOLE_PORT: '8080',
      CONSOLE_HOST: '127.0.0.1',
      CONSOLE_COMMANDS_URL: 'http://commands:3000/base/',
      CONSOLE_ADMIN_URL: 'https://projector:3002',
      CONSOLE_RELAY_URL: 'http://relay:3003',
      CONSOLE_DEV_ISSUER_URL: 'http://127.0.0.1:8090',
      CONSOLE_TRACE_URL: 'http://127.0.0.1:16686/trace/{traceId}',
      CONSOLE_STATIC_DIR: '/tmp/page',
    });
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    expect(parsed.config).toMatchObject({ port: 8080, host: '127.0.0.1', staticDir: '/tmp/page' });
    expect(parsed.config.commandsUrl.href).toBe('http://commands:3000/base/');
    // the projector's one port serves its admin API and its health
    expect(parsed.config.healthUrls.projector.href).toBe('https://projector:3002/');
    expect(parsed.config.healthUrls['outbox-relay'].host).toBe('relay:3003');
    expect(parsed.config.devIssuerUrl?.href).toBe('http://127.0.0.1:8090/');
    expect(parsed.config.traceUrlTemplate).toBe('http://127.0.0.1:16686/trace/{traceId}');
  });

  it('reports every problem at once, naming the variable', () => {
    const parsed = parse({
      CONSOLE_PORT: '70000',
      CONSOLE_QUERIES_URL: 'not a url',
      CONSOLE_COMMANDS_URL: 'ftp://commands',
      CONSOLE_ADMIN_URL: 'http://user:secret@projector:3002',
      CONSOLE_TRACE_URL: 'http://jaeger/trace/',
      CONSOLE_UPSTREAM_TIMEOUT_MS: '5s',
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems.map((p) => p.split(':')[0])).toEqual([
      'CONSOLE_PORT',
      'CONSOLE_COMMANDS_URL',
      'CONSOLE_QUERIES_URL',
      'CONSOLE_ADMIN_URL',
      'CONSOLE_TRACE_URL',
      'CONSOLE_UPSTREAM_TIMEOUT_MS',
    ]);
    expect(parsed.problems[0]).toContain('"70000"');
  });

  it('refuses the development issuer in production', () => {
    const parsed = parse({ NODE_ENV: 'production', CONSOLE_DEV_ISSUER_URL: 'http://127.0.0.1:8090' });
    expect(parsed).toEqual({ ok: false, problems: [expect.stringContaining('CONSOLE_DEV_ISSUER_URL')] });
  });
});

describe('withPath', () => {
  it('appends to the base path without doubling or dropping a slash', () => {
    expect(withPath(new URL('http://a:1'), '/tasks', '?x=1').href).toBe('http://a:1/tasks?x=1');
    expect(withPath(new URL('http://a:1/base/'), '/tasks').href).toBe('http://a:1/base/tasks');
  });
});
