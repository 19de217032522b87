import { InvalidArgumentError } from 'commander';

// Parsing and printing shared by the command-line tools (event-store, projector): option
// parsers throw commander's InvalidArgumentError, so a bad value is a readable usage error with
// a non-zero exit, never a stack trace. Pure, so specs cover them without I/O.

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
  const n = parseWholeNumber(value);
  if (n === undefined || n < 1) throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  return n;
}

/** A whole number option where 0 means something (`--max-lag 0`, an offset, a record id). */
export function parseNonNegativeInt(value: string): number {
  const n = parseWholeNumber(value);
  if (n === undefined) throw new InvalidArgumentError(`"${value}" is not a non-negative integer`);
  return n;
}

function parseWholeNumber(value: string): number | undefined {
  const n = Number(value);
  return /^\d+$/.test(value.trim()) && Number.isSafeInteger(n) ? n : undefined;
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

/**
 * Rows as an aligned text table: the first row's keys are the columns, two spaces between
 * them; dates print as ISO 8601, null and undefined as `-`; no rows print `(none)`.
 */
export function table(rows: readonly Record<string, unknown>[]): string {
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
