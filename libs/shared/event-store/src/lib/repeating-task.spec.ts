import { jitteredDelay, repeatWithJitter } from './repeating-task';

describe('jitteredDelay', () => {
  it('spreads the interval by ±jitter', () => {
    expect(jitteredDelay(1000, 0.2, () => 0)).toBe(800);
    expect(jitteredDelay(1000, 0.2, () => 0.5)).toBe(1000);
    expect(jitteredDelay(1000, 0.2, () => 0.999999)).toBe(1200);
    expect(jitteredDelay(1000, 0, () => 0.7)).toBe(1000);
    expect(jitteredDelay(1, 0.5, () => 0)).toBe(1);
  });
});

describe('repeatWithJitter', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('waits an interval before the first run, then one after each run ends: runs never overlap', async () => {
    const finishers: (() => void)[] = [];
    const run = jest.fn(() => new Promise<void>((resolve) => finishers.push(resolve)));
    const task = repeatWithJitter(run, { intervalMs: 1000, jitter: 0, onError: () => undefined });
    await jest.advanceTimersByTimeAsync(999);
    expect(run).toHaveBeenCalledTimes(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(1);
    // The first run takes 5 intervals: no second one meanwhile.
    await jest.advanceTimersByTimeAsync(5000);
    expect(run).toHaveBeenCalledTimes(1);
    finishers[0]();
    await jest.advanceTimersByTimeAsync(999);
    expect(run).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(2);
    finishers[1]();
    await task.stop();
  });

  it('hands errors to onError and keeps going (a throwing onError too)', async () => {
    const errors: unknown[] = [];
    const run = jest.fn(() => Promise.reject(new Error('database down')));
    const task = repeatWithJitter(run, {
      intervalMs: 100,
      jitter: 0,
      onError: (error) => {
        errors.push(error);
        throw new Error('logger broke');
      },
    });
    await jest.advanceTimersByTimeAsync(350);
    expect(run).toHaveBeenCalledTimes(3);
    expect(errors).toEqual([new Error('database down'), new Error('database down'), new Error('database down')]);
    await task.stop();
  });

  it('stop() ends the schedule and waits for a run in progress', async () => {
    let finish = () => undefined as void;
    const run = jest.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    const task = repeatWithJitter(run, { intervalMs: 100, jitter: 0, onError: () => undefined });
    await jest.advanceTimersByTimeAsync(100);
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    await jest.advanceTimersByTimeAsync(1000);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('rejects a non-positive interval and a jitter outside [0, 1)', () => {
    const onError = () => undefined;
    expect(() => repeatWithJitter(() => Promise.resolve(), { intervalMs: 0, onError })).toThrow(RangeError);
    expect(() => repeatWithJitter(() => Promise.resolve(), { intervalMs: 10, jitter: 1, onError })).toThrow(RangeError);
  });
});
