import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './repo';

/** The deployable apps: directories under apps/ with an image, a compose service and a chart Deployment. */
export const APPS = ['command-service', 'query-service', 'projector', 'outbox-relay'] as const;
export type AppName = (typeof APPS)[number];

export interface ConfigIssue {
  variable: string;
  message: string;
}

export type LoadResult = { ok: true; config: Record<string, unknown> } | { ok: false; issues: ConfigIssue[] };

/** What an app's `src/config.ts` reads from its environment, found by running it, not by a list. */
export interface AppConfig {
  app: AppName;
  /** Every environment variable the config reads (its schema's keys). */
  variables: string[];
  /** Variables without a default: every deployment must set them. */
  required: string[];
  /** Validates an environment exactly as the app does at start-up. */
  load(env: Record<string, string | undefined>): LoadResult;
  /** The config with every default (required variables taken from `fill`). */
  defaults(fill?: Record<string, string | undefined>): Record<string, unknown>;
}

type Loader = (source: NodeJS.ProcessEnv) => Record<string, unknown>;

const isConfigError = (error: unknown): error is Error & { issues: ConfigIssue[] } =>
  error instanceof Error && Array.isArray((error as { issues?: unknown }).issues);

const cache = new Map<AppName, Promise<AppConfig>>();

/**
 * Imports `apps/<app>/src/config.ts`, takes its one exported `load*Config` function and asks it:
 * the variable names are the keys it reads from a recording environment, the required ones those
 * it reports missing from an empty one. So the deployment tests follow config.ts as it changes.
 */
export function appConfig(app: AppName): Promise<AppConfig> {
  let found = cache.get(app);
  if (!found) cache.set(app, (found = introspect(app)));
  return found;
}

async function introspect(app: AppName): Promise<AppConfig> {
  const file = join(repoRoot(), 'apps', app, 'src', 'config.ts');
  if (!existsSync(file)) throw new Error(`${file} is missing: every app reads its environment in src/config.ts`);
  const module = (await import(file)) as Record<string, unknown>;
  const loaders = Object.entries(module).filter(
    ([name, value]) => /^load\w*Config$/.test(name) && typeof value === 'function',
  );
  if (loaders.length !== 1) {
    throw new Error(
      `${file}: expected exactly one exported load*Config function, found [${loaders.map(([n]) => n).join(', ')}]`,
    );
  }
  const loader = loaders[0][1] as Loader;

  const load = (env: Record<string, string | undefined>): LoadResult => {
    try {
      return { ok: true, config: loader({ ...env } as NodeJS.ProcessEnv) };
    } catch (error) {
      if (isConfigError(error)) return { ok: false, issues: error.issues };
      throw error;
    }
  };

  const read = new Set<string>();
  const recording = new Proxy({} as NodeJS.ProcessEnv, {
    get: (_target, key) => {
      if (typeof key === 'string') read.add(key);
      return undefined;
    },
    has: (_target, key) => {
      if (typeof key === 'string') read.add(key);
      return false;
    },
  });
  let required: string[] = [];
  try {
    loader(recording);
  } catch (error) {
    if (!isConfigError(error)) throw error;
    required = error.issues.map((issue) => issue.variable);
  }
  const variables = [...read].filter((name) => /^[A-Z][A-Z0-9_]*$/.test(name)).sort();
  if (variables.length === 0)
    throw new Error(`${file}: its config read no environment variable; is it a zod object schema?`);

  return {
    app,
    variables,
    required,
    load,
    defaults(fill = {}) {
      const result = load(Object.fromEntries(required.map((name) => [name, fill[name]])));
      if (!result.ok) {
        throw new Error(
          `${app}: cannot compute defaults: ${result.issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`,
        );
      }
      return result.config;
    },
  };
}

/** Matches loopback addresses, the local-only defaults no deployment may keep. */
export const LOOPBACK = /\b127\.\d+\.\d+\.\d+\b|\blocalhost\b|\[::1\]/;

/**
 * Owner-role connection strings (MIGRATIONS_*) some apps' configs carry for their operator CLIs
 * (the projector's `migrate`/`rebuild`). Deployments give the owner role to the migrations job
 * only, never to a long-running service, so these keep their local defaults there.
 */
export const isOwnerCredential = (name: string): boolean => name.startsWith('MIGRATIONS_');

/**
 * Keys of a loaded config that name something the app never connects to: the OIDC issuer
 * identifier once OIDC_JWKS_URL says where the keys are (the app then skips the issuer's discovery
 * document, and only compares the identifier with the tokens' `iss`).
 */
export function identifierSettings(config: Record<string, unknown>): string[] {
  return 'OIDC_ISSUER_URL' in config && typeof config['OIDC_JWKS_URL'] === 'string' ? ['OIDC_ISSUER_URL'] : [];
}

/** Keys of a loaded config whose value still points at this machine (a local default). */
export function loopbackSettings(config: Record<string, unknown>): string[] {
  const identifiers = identifierSettings(config);
  return Object.entries(config)
    .filter(
      ([key, value]) =>
        !isOwnerCredential(key) && !identifiers.includes(key) && LOOPBACK.test(JSON.stringify(value) ?? ''),
    )
    .map(([key]) => key);
}

/**
 * Environment variables a deployment may set that an app's config.ts does not read: the
 * OpenTelemetry SDK's standard ones (read by the SDK itself) and NODE_ENV.
 */
export const isStandardVariable = (name: string): boolean => name.startsWith('OTEL_') || name === 'NODE_ENV';

/** Replaces user:password in URLs, for messages. */
export const redact = (text: string): string => text.replace(/\/\/([^:/@\s]+):([^@/\s]+)@/g, '//$1:***@');
