import { startApp, type AppProcess } from '@cqrs/testing';

/** Starts the built outbox-relay as a process; it is "up" once it answers /health/live. */
export function startRelayProcess(env: Record<string, string>): Promise<AppProcess> {
  return startApp(
    'outbox-relay',
    { LOG_LEVEL: 'warn', OUTBOX_STANDBY_POLL_MS: '300', OUTBOX_RETRY_MAX_MS: '2000', ...env },
    { waitFor: '/health/live' },
  );
}

/**
 * The replica's role: 'down' while its readiness says so, otherwise 'leader' or 'standby' as its
 * `cqrs_outbox_relay_leader` gauge says (readiness tells up or down only, never the role).
 */
export async function roleOf(app: AppProcess): Promise<string> {
  try {
    const ready = await fetch(`${app.url}/health/ready`, { signal: AbortSignal.timeout(3000) });
    if (ready.status !== 200) return 'down';
    const text = await (await fetch(`${app.url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
    return /^cqrs_outbox_relay_leader\{[^}]*\} 1$/m.test(text) ? 'leader' : 'standby';
  } catch {
    return 'down';
  }
}

/** `cqrs_events_published_total` of one replica, summed over topics. */
export async function publishedBy(app: AppProcess): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  return [...text.matchAll(/^cqrs_events_published_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}
