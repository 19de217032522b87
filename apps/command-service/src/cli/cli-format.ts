// The command service's load counts, read from its metrics for `event-store snapshots stats`.

/** Loads counted by the command service's `event_replay_duration_seconds` histogram since it started. */
export interface LoadHitRate {
  /** Loads that started from a snapshot. */
  fromSnapshot: number;
  /** Loads replayed from the first event. */
  fromScratch: number;
  /** fromSnapshot / all loads; null before the first load. */
  hitRate: number | null;
}

const LOAD_COUNT = /^event_replay_duration_seconds_count\{([^}]*)\}\s+(\S+)/;

/** The load counts in a Prometheus text exposition; undefined when it has no such series (not the command service?). */
export function parseLoadHitRate(exposition: string): LoadHitRate | undefined {
  let found = false;
  const counts = { fromSnapshot: 0, fromScratch: 0 };
  for (const line of exposition.split('\n')) {
    const match = LOAD_COUNT.exec(line);
    if (!match) continue;
    const value = Number(match[2]);
    if (!Number.isFinite(value)) continue;
    const fromSnapshot = /(?:^|,)\s*from_snapshot="(true|false)"/.exec(match[1])?.[1];
    if (fromSnapshot === undefined) continue;
    found = true;
    if (fromSnapshot === 'true') counts.fromSnapshot += value;
    else counts.fromScratch += value;
  }
  if (!found) return undefined;
  const loads = counts.fromSnapshot + counts.fromScratch;
  return { ...counts, hitRate: loads === 0 ? null : counts.fromSnapshot / loads };
}

/** The outcome of asking the command service for its load counts. */
export type LoadHitRateReport =
  | ({ available: true } & LoadHitRate & { metricsUrl: string })
  | { available: false; metricsUrl: string; reason: string };

/** Reads the load counts from a metrics endpoint; never throws (an unreachable service is a normal answer). */
export async function fetchLoadHitRate(metricsUrl: string, timeoutMs = 3000): Promise<LoadHitRateReport> {
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return { available: false, metricsUrl, reason: `HTTP ${response.status}` };
    const rate = parseLoadHitRate(await response.text());
    if (!rate)
      return {
        available: false,
        metricsUrl,
        reason: 'no event_replay_duration_seconds series there (is it the command service?)',
      };
    return { available: true, metricsUrl, ...rate };
  } catch (error) {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    return { available: false, metricsUrl, reason: e.cause?.code ?? e.cause?.message ?? e.message };
  }
}

/** One line about the load hit rate, saying clearly when it is unknown. */
export function describeLoadHitRate(report: LoadHitRateReport): string {
  if (!report.available) {
    return `load hit rate: unknown, cannot read the command service's metrics at ${report.metricsUrl} (${report.reason}); is it running? (--metrics-url)`;
  }
  const loads = report.fromSnapshot + report.fromScratch;
  if (report.hitRate === null) return `load hit rate: no loads yet (${report.metricsUrl})`;
  return `load hit rate: ${(report.hitRate * 100).toFixed(1)}% of ${loads} loads started from a snapshot (${report.metricsUrl}, since that instance started)`;
}
