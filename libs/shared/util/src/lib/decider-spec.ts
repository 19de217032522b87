import { AssertionError, deepStrictEqual } from 'node:assert/strict';
import { type Decider, replay } from './decider';
import { isDomainError } from './domain-error';

/** The outcome half of a decider specification. */
export interface DeciderThen<Event> {
  /** Asserts `decide` returned exactly these events (deep, strict: no stray `undefined` keys). */
  then(expected: readonly Event[]): void;
  /** Asserts `decide` accepted the command but changed nothing (no events). */
  thenNothingHappens(): void;
  /**
   * Asserts `decide` rejected the command with a DomainError of this code (and so produced no
   * event). Returns the error for further checks (kind, details).
   */
  thenThrows(code: string): { code: string; kind: string; message: string; details?: Record<string, unknown> };
}

/**
 * A given/when/then harness for deciders, test-only:
 *
 * ```ts
 * const { given } = deciderSpec(taskDecider);
 * given([created]).when(startTask).then([started]);
 * given([created, deleted]).when(startTask).thenThrows('TASK_NOT_FOUND');
 * ```
 *
 * Uses `node:assert` so it works under any test runner and keeps the domain free of Jest.
 */
export function deciderSpec<State, Command, Event>(decider: Decider<State, Command, Event>) {
  return {
    given(history: readonly Event[]) {
      return {
        when(command: Command): DeciderThen<Event> {
          const run = () => decider.decide(command, replay(decider, history));
          return {
            then(expected) {
              deepStrictEqual(run(), expected);
            },
            thenNothingHappens() {
              deepStrictEqual(run(), []);
            },
            thenThrows(code) {
              let events: Event[];
              try {
                events = run();
              } catch (error) {
                if (!isDomainError(error)) throw error;
                if (error.code !== code) {
                  throw new AssertionError({
                    message: `expected DomainError ${code}, got ${error.code}: ${error.message}`,
                    actual: error.code,
                    expected: code,
                    operator: 'thenThrows',
                  });
                }
                return error;
              }
              throw new AssertionError({
                message: `expected DomainError ${code}, but decide returned ${JSON.stringify(events)}`,
                actual: events,
                expected: code,
                operator: 'thenThrows',
              });
            },
          };
        },
      };
    },
  };
}
