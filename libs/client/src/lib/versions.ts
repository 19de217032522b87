/** The kinds of stream the query side takes read-your-writes requirements on. */
export type StreamKind = 'task' | 'project';

export interface VersionTrackerOptions {
  /**
   * How long a write is carried as a requirement; after it the read side has long caught up, and a
   * stream it cannot catch up with (a parked one) no longer makes every list answer 503. 0 turns
   * read-your-writes off. @default 60000
   */
  ttlMs?: number;
  /** Most writes remembered per kind; lists carry the newest 20 (the query side's limit). @default 500 */
  maxEntries?: number;
  /** The clock (tests). @default Date.now */
  now?: () => number;
}

/** Most requirements the query side takes on one request. */
export const MAX_REQUIREMENTS = 20;

interface Entry {
  version: number;
  at: number;
}

/**
 * Read-your-writes for one client: the stream versions its commands returned, which its queries
 * then send as `X-Min-Version` so that the query side answers only once its read model reflects
 * them (or 503 `READ_MODEL_BEHIND`, retried). A detail query carries its entity's version, a list
 * or statistics query the newest writes of its kind.
 */
export class VersionTracker {
  private readonly streams: Record<StreamKind, Map<string, Entry>> = { task: new Map(), project: new Map() };
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: VersionTrackerOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 500;
    this.now = options.now ?? Date.now;
  }

  /** A command on stream `id` answered `version`. */
  record(kind: StreamKind, id: string, version: number): void {
    if (this.ttlMs === 0 || !Number.isSafeInteger(version) || version < 1) return;
    const streams = this.streams[kind];
    const previous = streams.get(id);
    streams.delete(id); // re-inserted: a Map iterates in insertion order, newest last
    streams.set(id, { version: Math.max(version, previous?.version ?? 0), at: this.now() });
    for (const oldest of streams.keys()) {
      if (streams.size <= this.maxEntries) break;
      streams.delete(oldest);
    }
  }

  /** The version a read of stream `id` must reflect, if this client wrote it lately. */
  minVersion(kind: StreamKind, id: string): number | undefined {
    const entry = this.streams[kind].get(id);
    return entry && this.fresh(entry) ? entry.version : undefined;
  }

  /** `X-Min-Version` for a list of `kind`: `<id>:<version>,…` of the newest writes, or undefined. */
  requirements(kind: StreamKind): string | undefined {
    const newest = [...this.streams[kind]]
      .filter(([, entry]) => this.fresh(entry))
      .slice(-MAX_REQUIREMENTS)
      .map(([id, entry]) => `${id}:${entry.version}`);
    return newest.length > 0 ? newest.join(',') : undefined;
  }

  /** Forgets every write (on sign-out, with `queryClient.clear()`). */
  clear(): void {
    this.streams.task.clear();
    this.streams.project.clear();
  }

  private fresh(entry: Entry): boolean {
    return this.now() - entry.at < this.ttlMs;
  }
}
