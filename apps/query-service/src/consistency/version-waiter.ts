import { histogram, MS_BUCKETS } from '@cqrs/observability';
import { TASK_STREAM_NAMING, type VersionRequirement } from './min-version';

/** The read model did not reach a requested version in time: 503 with Retry-After, never stale data. */
export class ReadModelBehindError extends Error {
  readonly code = 'READ_MODEL_BEHIND';
  readonly kind = 'unavailable';
  readonly details: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    missing: { streamId: string; version: number; current: number }[],
    waitedMs: number,
    retryAfterSeconds: number,
    idField = TASK_STREAM_NAMING.idField,
  ) {
    const first = missing[0];
    super(
      first
        ? `the read model has version ${first.current} of ${first.streamId}, not yet ${first.version}, after waiting ${waitedMs} ms; retry shortly`
        : `the read model did not reach the requested versions within ${waitedMs} ms; retry shortly`,
    );
    this.name = 'ReadModelBehindError';
    this.details = {
      waitedMs,
      behind: missing.map((m) => ({ [idField]: m.streamId, minVersion: m.version, currentVersion: m.current })),
    };
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

const waited = histogram(
  'cqrs_read_your_writes_wait_ms',
  'How long queries with a minimum version waited for the read model, by outcome (reached, timeout).',
  MS_BUCKETS,
  ['outcome'],
);

interface Waiter {
  version: number;
  wake: () => void;
}

/**
 * Read-your-writes: lets a query wait until the read model reflects given stream versions.
 * It is woken by the projector's NOTIFY (through {@link notify}), never by polling: a waiter
 * registers before the database is read, so a change that commits in between still wakes it.
 */
export class VersionWaiter {
  private readonly waiters = new Map<string, Set<Waiter>>();

  /**
   * @param readVersions the read model's current version of each stream (one query)
   * @param timeoutMs longest wait before giving up with {@link ReadModelBehindError}
   * @param retryAfterSeconds the `Retry-After` advertised on a timeout
   * @param idField what the 503's `behind` entries call a stream id (the context's id field)
   */
  constructor(
    private readonly readVersions: (streamIds: string[], visibleTo?: string) => Promise<Map<string, number>>,
    private readonly timeoutMs: number,
    private readonly retryAfterSeconds = 1,
    private readonly idField = TASK_STREAM_NAMING.idField,
  ) {}

  /** A stream reached `version` (a committed change, from the change feed). */
  notify(streamId: string, version: number): void {
    const set = this.waiters.get(streamId);
    if (!set) return;
    for (const w of set) if (version >= w.version) w.wake();
  }

  /** Notifications may have been missed (the feed reconnected): every waiter checks again. */
  recheckAll(): void {
    for (const set of this.waiters.values()) for (const w of set) w.wake();
  }

  /** Waiting queries, for diagnostics. */
  get pending(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /**
   * Resolves once every requirement is met (at once when it already is). With `visibleTo`, only
   * that owner's streams count: another owner's is waited for as one that does not exist, so
   * the wait (and its timeout) tells nothing about it.
   * @throws {ReadModelBehindError} when they are not met within the timeout
   */
  async waitFor(requirements: readonly VersionRequirement[], visibleTo?: string): Promise<{ waitedMs: number }> {
    if (requirements.length === 0) return { waitedMs: 0 };
    const started = performance.now();
    const ids = requirements.map((r) => r.streamId);
    let wake: () => void = () => undefined;
    let signal = new Promise<void>((r) => (wake = r));
    const registered: [string, Waiter][] = requirements.map((r) => [
      r.streamId,
      { version: r.version, wake: () => wake() },
    ]);
    for (const [id, w] of registered) {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      set.add(w);
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.timeoutMs)));
    try {
      for (;;) {
        const current = await this.readVersions(ids, visibleTo);
        const missing = requirements
          .map((r) => ({ ...r, current: current.get(r.streamId) ?? 0 }))
          .filter((r) => r.current < r.version);
        const elapsed = Math.round(performance.now() - started);
        if (missing.length === 0) {
          waited.observe({ outcome: 'reached' }, elapsed);
          return { waitedMs: elapsed };
        }
        if ((await Promise.race([signal, timedOut])) === 'timeout') {
          // One last look: the change may have committed just as the timer fired.
          const last = await this.readVersions(ids, visibleTo);
          const still = missing
            .map((m) => ({ ...m, current: last.get(m.streamId) ?? 0 }))
            .filter((m) => m.current < m.version);
          const total = Math.round(performance.now() - started);
          if (still.length === 0) {
            waited.observe({ outcome: 'reached' }, total);
            return { waitedMs: total };
          }
          waited.observe({ outcome: 'timeout' }, total);
          throw new ReadModelBehindError(still, total, this.retryAfterSeconds, this.idField);
        }
        signal = new Promise<void>((r) => (wake = r));
      }
    } finally {
      clearTimeout(timer);
      for (const [id, w] of registered) {
        const set = this.waiters.get(id);
        set?.delete(w);
        if (set?.size === 0) this.waiters.delete(id);
      }
    }
  }
}
