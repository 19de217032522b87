import { InvalidArgumentError } from 'commander';

// Parsing and printing for the event-store CLI: pure, so the CLI's spec covers it without I/O.

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90d`, `12h`, `30m`, `45s`, `500ms` → milliseconds; anything else is a commander argument error. */
export function parseDuration(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value.trim());
  if (!match)
    throw new InvalidArgumentError(
      `"${value}" is not a duration: use a whole number and a unit, e.g. 90d, 12h, 30m, 45s, 500ms`,
    );
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (!Number.isSafeInteger(ms)) throw new InvalidArgumentError(`"${value}" is too long`);
  return ms;
}

/** A positive integer option (`--keep`, `--batch`). */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  return n;
}

/** Milliseconds as the largest whole unit that fits, e.g. `90d`, `36h`, `1500ms`. */
export function formatDurationMs(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/** An age in seconds, rounded to one decimal of a readable unit: `42 s`, `3.5 h`, `12.0 d`. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  if (seconds < 86_400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** Bytes in binary units: `512 B`, `1.5 KiB`, `20.0 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Rows as an aligned text table (the projector CLI's layout). */
export function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(none)';
  const columns = Object.keys(rows[0] ?? {});
  const cell = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? '-' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

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
