import { initialState, taskUpcasters, type Task, type TaskEvent } from '@cqrs/tasks-domain';
import { taskProjection } from '@cqrs/tasks-read-model';
import { StreamDigest } from './stream-digest';

/** One event of the store as the reconciliation reads it (`events` or `events_archive`). */
export interface StoreEventRow {
  streamId: string;
  version: number;
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
}

/**
 * Folds one stream of the store, event by event, in version order, exactly as the read model's
 * projection does (each event lifted to its current shape by `taskUpcasters`, then
 * `taskProjection.apply`), keeping the state at one version of interest along the way (the read
 * model's version, when the projector is behind) and a digest of the event ids of a range of
 * versions (those Kafka holds). Memory: one state, whatever the stream's length.
 */
export class StreamFold {
  /** Highest version read. */
  version = 0;
  /** Events read. */
  events = 0;
  state: Task = taskProjection.initial();
  /** The state at {@link compareAt}, once the fold got there. */
  atCompare: Task | undefined;
  /** Why the stream cannot be folded (a missing or repeated version, an event that does not apply). */
  error: string | undefined;
  readonly digest = new StreamDigest();

  /**
   * @param compareAt the version whose state to keep (0: the initial state)
   * @param digestRange versions whose event ids go into {@link digest}
   */
  constructor(
    readonly streamId: string,
    readonly compareAt: number,
    private readonly digestRange?: { from: number; to: number },
  ) {
    if (compareAt === 0) this.atCompare = initialState();
  }

  add(e: StoreEventRow): void {
    this.events++;
    if (e.version !== this.version + 1) {
      this.error ??=
        e.version <= this.version
          ? `version ${e.version} is stored twice`
          : `versions ${this.version + 1}..${e.version - 1} are missing`;
      this.version = Math.max(this.version, e.version);
      return;
    }
    this.version = e.version;
    if (this.digestRange && e.version >= this.digestRange.from && e.version <= this.digestRange.to)
      this.digest.add(e.version, e.eventId);
    if (this.error) return;
    try {
      const event = taskUpcasters.upcast({ type: e.type, schemaVersion: e.schemaVersion, data: e.data });
      this.state = taskProjection.apply(this.state, { type: event.type, data: event.data } as TaskEvent);
    } catch (error) {
      this.error = `v${e.version} (${e.type} v${e.schemaVersion}) does not apply: ${(error as Error).message}`;
      return;
    }
    if (e.version === this.compareAt) this.atCompare = this.state;
  }

  /** The state at `version` (≤ {@link compareAt} or the last version read), if the fold kept it. */
  stateAt(version: number): Task | undefined {
    if (this.error) return undefined;
    if (version === this.version) return this.state;
    if (version === this.compareAt) return this.atCompare;
    return version === 0 ? initialState() : undefined;
  }
}
