import { startApp, type AppProcess } from '@cqrs/testing';

/** Starts the built outbox-relay as a process; it is "up" once it answers /health/live. */
export function startRelayProcess(env: Record<string, string>): Promise<AppProcess> {
  return startApp('outbox-relay', { LOG_LEVEL: 'warn', OUTBOX_STANDBY_POLL_MS: '300', OUTBOX_RETRY_MAX_MS: '2000', ...env }, { waitFor: '/health/live' });
}

/** The replica's role as its readiness reports it ('leader', 'standby', or 'down'). */
export async function roleOf(app: AppProcess): Promise<string> {
  try {
    const body = (await (await fetch(`${app.url}/health/ready`, { signal: AbortSignal.timeout(3000) })).json()) as {
      details?: { replication?: { role?: string } };
      checks?: { replication?: { role?: string } };
    };
    return body.details?.replication?.role ?? body.checks?.replication?.role ?? 'down';
  } catch {
    return 'down';
  }
}

/** `cqrs_events_published_total` of one replica, summed over topics. */
export async function publishedBy(app: AppProcess): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  return [...text.matchAll(/^cqrs_events_published_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}
