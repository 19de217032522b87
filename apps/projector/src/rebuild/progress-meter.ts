/** Rate and time left of a rebuild, from how many events were done when. */
export interface Throughput {
  eventsDone: number;
  /** Over the last few seconds (the whole run until then). */
  eventsPerSecond: number;
  /** Until `expected` is done at that rate; null while unknown (no expectation, or no rate yet). */
  etaMs: number | null;
}

/**
 * Measures a rebuild's rate over a sliding window (so the ETA follows the current speed, not the
 * average since a slow start) and the time left until the expected total.
 */
export class ProgressMeter {
  private readonly samples: { at: number; done: number }[] = [];

  constructor(
    private readonly windowMs = 5_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records that `done` events are done now and returns the rate and ETA towards `expected`. */
  sample(done: number, expected: number | null): Throughput {
    const at = this.now();
    this.samples.push({ at, done });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const seconds = (at - first.at) / 1000;
    const eventsPerSecond = seconds > 0 ? Math.max(0, Math.round((done - first.done) / seconds)) : 0;
    const left = expected === null ? null : Math.max(0, expected - done);
    const etaMs =
      left === null ? null : left === 0 ? 0 : eventsPerSecond > 0 ? Math.round((left / eventsPerSecond) * 1000) : null;
    return { eventsDone: done, eventsPerSecond, etaMs };
  }
}
