import { ProblemError, type Problem } from '@cqrs/client';

/**
 * The console server's own routes, which are not services of the system and so not in
 * `@cqrs/client`: `/config.json`, `/api/health/<app>` and `/api/dev-token`.
 */

/** `/config.json`, apps/console/server/console-server.ts `PageConfig`. */
export interface PageConfig {
  devTokens: boolean;
  traceUrlTemplate: string | null;
}

export const HEALTH_APPS = [
  { app: 'command-service', label: 'Command service' },
  { app: 'query-service', label: 'Query service' },
  { app: 'projector', label: 'Projector' },
  { app: 'outbox-relay', label: 'Outbox relay' },
] as const;
export type HealthApp = (typeof HEALTH_APPS)[number]['app'];

export type Readiness =
  | { state: 'ready'; checks: Record<string, unknown> }
  | { state: 'not-ready'; checks: Record<string, unknown>; detail: string }
  | { state: 'unreachable'; detail: string };

async function failure(response: Response): Promise<ProblemError> {
  const body = (await response.json().catch(() => null)) as Partial<Problem> | null;
  return new ProblemError({
    title: body?.title ?? response.statusText,
    status: response.status,
    code: body?.code ?? `HTTP_${response.status}`,
    ...(body?.detail ? { detail: body.detail } : {}),
  });
}

async function call(input: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(input, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ProblemError({ title: 'Network error', status: 0, code: 'NETWORK_ERROR' }, { cause: error });
  }
}

export async function fetchPageConfig(signal?: AbortSignal): Promise<PageConfig> {
  const response = await call('/config.json', { signal });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as PageConfig;
}

/**
 * One app's `/health/ready` through the console server: 200 ready, 503 not ready (its `checks`
 * name what is down), 502/504 from the console server when the app does not answer.
 */
export async function fetchReadiness(app: HealthApp, signal?: AbortSignal): Promise<Readiness> {
  const response = await call(`/api/health/${app}`, { signal });
  const body = (await response.json().catch(() => ({}))) as {
    checks?: Record<string, unknown>;
    info?: Record<string, unknown>;
    error?: Record<string, unknown>;
    details?: Record<string, unknown>;
    detail?: string;
    title?: string;
  };
  const checks = body.checks ?? body.details ?? body.info ?? {};
  if (response.ok) return { state: 'ready', checks };
  if (response.status === 502 || response.status === 504)
    return { state: 'unreachable', detail: body.detail ?? 'the app does not answer' };
  return { state: 'not-ready', checks, detail: body.detail ?? body.title ?? `answered ${response.status}` };
}

/** A development token from the issuer the console server is configured with. */
export async function fetchDevToken(sub: string, roles: string[]): Promise<string> {
  const response = await call('/api/dev-token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub, roles }),
  });
  if (!response.ok) throw await failure(response);
  return ((await response.json()) as { access_token: string }).access_token;
}
