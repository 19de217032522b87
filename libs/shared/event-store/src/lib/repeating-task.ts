/** A task started by {@link repeatWithJitter}. */
export interface RepeatingTask {
  /** No further runs; resolves once a run in progress (if any) has finished. */
  stop(): Promise<void>;
}

export interface RepeatOptions {
  /** Mean time from the end of one run to the start of the next (ms); the first run waits one too. */
  intervalMs: number;
  /** Each wait is `intervalMs` times a random factor in `[1 - jitter, 1 + jitter]`. @default 0.2 */
  jitter?: number;
  /** Gets a run's error; the schedule goes on. */
  onError(error: unknown): void;
  /** @default Math.random */
  random?: () => number;
}

/** A wait of `intervalMs` spread by ±`jitter` (so replicas started together do not run together). */
export function jitteredDelay(intervalMs: number, jitter = 0.2, random: () => number = Math.random): number {
  return Math.max(1, Math.round(intervalMs * (1 - jitter + 2 * jitter * random())));
}

/**
 * Runs `run` every `intervalMs` (jittered) in the background: never two runs at once (the next wait
 * starts when a run ends), errors go to `onError` and never stop the schedule, and the timer does
 * not keep the process alive. For upkeep such as pruning snapshots from a service.
 */
export function repeatWithJitter(run: () => Promise<unknown>, options: RepeatOptions): RepeatingTask {
  const { intervalMs, jitter = 0.2, random = Math.random } = options;
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 1)
    throw new RangeError(`intervalMs must be a positive integer, got ${intervalMs}`);
  if (!(jitter >= 0 && jitter < 1)) throw new RangeError(`jitter must be in [0, 1), got ${jitter}`);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        running = Promise.resolve()
          .then(run)
          .then(
            () => undefined,
            (error: unknown) => {
              try {
                options.onError(error);
              } catch {
                // A failing error handler must not end the schedule either.
              }
            },
          )
          .finally(() => {
            running = undefined;
            schedule();
          });
      },
      jitteredDelay(intervalMs, jitter, random),
    );
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
