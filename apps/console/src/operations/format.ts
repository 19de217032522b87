/** `42 s`, `3 min 5 s`, `1 h 2 min`: for an ETA or an age. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'unknown';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}

/** Whole percent done, 0-100, or null when the total is not known yet. */
export function percentDone(done: number, expected: number | null | undefined): number | null {
  if (expected === null || expected === undefined || !(expected > 0)) return null;
  return Math.min(100, Math.max(0, Math.floor((done / expected) * 100)));
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `512 B`, `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return 'unknown';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** `1,234` in the reader's locale. */
export const formatCount = (n: number) => new Intl.NumberFormat().format(n);

/**
 * The link to a trace from the server's template (`CONSOLE_TRACE_URL`), or null when there is no
 * template or the id is not a W3C trace id (32 hex digits, not all zero).
 */
export function traceUrl(template: string | null, traceId: string): string | null {
  const id = traceId.trim().toLowerCase();
  if (template === null || !/^[0-9a-f]{32}$/.test(id) || /^0+$/.test(id)) return null;
  return template.replaceAll('{traceId}', id);
}
