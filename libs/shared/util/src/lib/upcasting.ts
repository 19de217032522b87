/**
 * Upcasting: stored events keep the shape (`schema_version`) they were written with, forever;
 * a chain of pure functions lifts an old shape to the current one whenever events are read
 * (stream loads, rebuilds, reconciliation), so history is never rewritten.
 *
 * An upcaster takes one event type's data from version `n` to `n + 1` and nothing else: a chain
 * from 1 to 3 is the step 1→2 followed by the step 2→3. Steps must be pure and total (they run on
 * every load, on data written by code that no longer exists).
 */

/** Lifts one event type's data from version `n` to `n + 1`. */
export type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

/** Per event type, the step from each version to the next: `{ TaskCreated: { 1: (d) => ({ ...d, priority: 'NORMAL' }) } }`. */
export type UpcasterSteps = Readonly<Record<string, Readonly<Record<number, Upcaster>>>>;

/** A stored event's type, shape version and data, before or after upcasting. */
export interface VersionedEventData {
  type: string;
  schemaVersion: number;
  data: unknown;
}

/** Raised when a stored event cannot be lifted to the current shape (a missing step). */
export class UpcastError extends Error {
  readonly code = 'UPCAST_FAILED';
  constructor(
    readonly type: string,
    readonly fromVersion: number,
    message: string,
  ) {
    super(message);
    this.name = 'UpcastError';
  }
}

/** Lifts stored events to the current shape of their type. */
export interface UpcasterChain {
  /** The current version of each type that has steps (types without steps are always current). */
  readonly currentVersions: ReadonlyMap<string, number>;
  /** `event` lifted to its type's current version (the same object when it is current already). */
  upcast<E extends VersionedEventData>(event: E): E;
}

/**
 * A chain from per-type steps. A type's current version is one past its highest step; an event of
 * a version above that is returned as it is (written by newer code during a rolling deploy: its
 * reader must cope), one with a missing step in between throws {@link UpcastError}.
 */
export function upcasterChain(steps: UpcasterSteps): UpcasterChain {
  const currentVersions = new Map<string, number>();
  for (const [type, byVersion] of Object.entries(steps)) {
    const versions = Object.keys(byVersion).map(Number);
    for (const v of versions) {
      if (!Number.isSafeInteger(v) || v < 1)
        throw new RangeError(`upcaster of ${type}: version ${v} is not a positive integer`);
    }
    const highest = Math.max(...versions);
    for (let v = 1; v <= highest; v++) {
      if (!byVersion[v]) throw new RangeError(`upcasters of ${type}: no step from version ${v} to ${v + 1}`);
    }
    currentVersions.set(type, highest + 1);
  }
  return {
    currentVersions,
    upcast<E extends VersionedEventData>(event: E): E {
      const byVersion = steps[event.type];
      const current = currentVersions.get(event.type);
      if (!byVersion || current === undefined || event.schemaVersion >= current) return event;
      let data = event.data as Record<string, unknown>;
      for (let v = event.schemaVersion; v < current; v++) {
        const step = byVersion[v];
        if (!step)
          throw new UpcastError(
            event.type,
            event.schemaVersion,
            `no upcaster of ${event.type} from version ${v} to ${v + 1}`,
          );
        if (data === null || typeof data !== 'object' || Array.isArray(data)) {
          throw new UpcastError(event.type, event.schemaVersion, `${event.type} v${v} data is not an object`);
        }
        data = step(data);
      }
      return { ...event, schemaVersion: current, data };
    },
  };
}

/** The chain with no steps: every event is current. */
export const NO_UPCASTERS: UpcasterChain = upcasterChain({});

/** One set of steps from several (e.g. one per bounded context); a type in two of them is an error. */
export function mergeUpcasterSteps(sets: readonly UpcasterSteps[]): UpcasterSteps {
  const merged: Record<string, UpcasterSteps[string]> = {};
  for (const steps of sets) {
    for (const [type, byVersion] of Object.entries(steps)) {
      if (merged[type]) throw new Error(`two sets of upcasters for the event type ${type}`);
      merged[type] = byVersion;
    }
  }
  return merged;
}
