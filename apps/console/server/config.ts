import { dirname, join, resolve } from 'node:path';

/** The apps whose readiness the console shows, as they appear in `/api/health/<app>`. */
export const HEALTH_APPS = ['command-service', 'query-service', 'projector', 'outbox-relay'] as const;
export type HealthApp = (typeof HEALTH_APPS)[number];

export interface ConsoleConfig {
  port: number;
  host: string;
  /** Command service API: `/api/commands/*` goes here. */
  commandsUrl: URL;
  /** Query service API: `/api/queries/*` goes here. */
  queriesUrl: URL;
  /** Projector: `/api/admin/*` goes to its `/admin/cqrs/*`. */
  adminUrl: URL;
  /** The base URL whose `/health/ready` each app answers on (its management port). */
  healthUrls: Record<HealthApp, URL>;
  /** Development OIDC issuer; when set, `POST /api/dev-token` signs tokens through it. */
  devIssuerUrl: URL | null;
  /** Link to a trace, `{traceId}` standing for its id; handed to the page in `/config.json`. */
  traceUrlTemplate: string | null;
  /** Folder of the built page (index.html, assets/). */
  staticDir: string;
  /** How long an upstream may take to answer before the console answers 504. */
  upstreamTimeoutMs: number;
}

export type ParsedConfig = { ok: true; config: ConsoleConfig } | { ok: false; problems: string[] };

type Env = Record<string, string | undefined>;

/**
 * Reads and validates the console server's environment once, at start-up. Every problem is
 * reported at once (`CONSOLE_PORT: must be an integer from 0 to 65535 (got "x")`), so a bad
 * deployment is fixed in one go.
 *
 * @param defaultStaticDir where the built page is when `CONSOLE_STATIC_DIR` is unset: the
 *   `public` folder beside the built server.
 */
export function parseConsoleConfig(env: Env, defaultStaticDir: string): ParsedConfig {
  const problems: string[] = [];
  const value = (name: string) => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      problems.push(`${name}: must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return n;
  };
  const url = (name: string, fallback: string | null): URL | null => {
    const raw = value(name) ?? fallback;
    if (raw === null) return null;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      problems.push(`${name}: must be an absolute http(s) URL (got ${JSON.stringify(raw)})`);
      return null;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      problems.push(`${name}: must be an http or https URL (got ${JSON.stringify(raw)})`);
      return null;
    }
    if (parsed.username !== '' || parsed.password !== '' || parsed.search !== '' || parsed.hash !== '') {
      problems.push(`${name}: must have no credentials, query or fragment (got ${JSON.stringify(raw)})`);
      return null;
    }
    return parsed;
  };
  const required = (name: string, fallback: string) => url(name, fallback) ?? new URL(fallback);

  const port = integer('CONSOLE_PORT', 4200, 0, 65535);
  const host = value('CONSOLE_HOST') ?? '0.0.0.0';
  const commandsUrl = required('CONSOLE_COMMANDS_URL', 'http://127.0.0.1:3000');
  const queriesUrl = required('CONSOLE_QUERIES_URL', 'http://127.0.0.1:3001');
  const adminUrl = required('CONSOLE_ADMIN_URL', 'http://127.0.0.1:3002');
  const healthUrls: Record<HealthApp, URL> = {
    'command-service': required('CONSOLE_COMMANDS_MANAGEMENT_URL', 'http://127.0.0.1:9000'),
    'query-service': required('CONSOLE_QUERIES_MANAGEMENT_URL', 'http://127.0.0.1:9001'),
    // the projector has one port: its admin API and its health share it
    projector: adminUrl,
    'outbox-relay': required('CONSOLE_RELAY_URL', 'http://127.0.0.1:3003'),
  };
  const devIssuerUrl = url('CONSOLE_DEV_ISSUER_URL', null);
  if (devIssuerUrl !== null && env['NODE_ENV'] === 'production')
    problems.push('CONSOLE_DEV_ISSUER_URL: a development issuer is refused with NODE_ENV=production');

  let traceUrlTemplate = value('CONSOLE_TRACE_URL') ?? null;
  if (traceUrlTemplate !== null) {
    const probe = traceUrlTemplate.replaceAll('{traceId}', '0');
    if (!traceUrlTemplate.includes('{traceId}') || !/^https?:\/\//.test(probe) || !URL.canParse(probe)) {
      problems.push(
        `CONSOLE_TRACE_URL: must be an http(s) URL holding {traceId}, e.g. http://127.0.0.1:16686/trace/{traceId} (got ${JSON.stringify(traceUrlTemplate)})`,
      );
      traceUrlTemplate = null;
    }
  }
  const staticDir = resolve(value('CONSOLE_STATIC_DIR') ?? defaultStaticDir);
  const upstreamTimeoutMs = integer('CONSOLE_UPSTREAM_TIMEOUT_MS', 30_000, 100, 600_000);

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: {
      port,
      host,
      commandsUrl,
      queriesUrl,
      adminUrl,
      healthUrls,
      devIssuerUrl,
      traceUrlTemplate,
      staticDir,
      upstreamTimeoutMs,
    },
  };
}

/** `public/` beside the running server file (`dist/apps/console/server.mjs`). */
export const staticDirBeside = (serverFile: string) => join(dirname(serverFile), 'public');

/**
 * `base` with `tail` appended to its path, built by hand rather than with `new URL(tail, base)`, so
 * a client's path can never change the origin or drop the base path.
 */
export function withPath(base: URL, tail: string, query = ''): URL {
  const target = new URL(base.href);
  target.pathname = `${base.pathname.replace(/\/+$/, '')}${tail}`;
  target.search = query;
  return target;
}
