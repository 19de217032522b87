import { ProgressMeter } from './progress-meter';

describe('rebuild progress meter', () => {
  let now = 0;
  const meter = () => new ProgressMeter(5_000, () => now);

  beforeEach(() => (now = 0));

  it('has no rate and no ETA before time passes, and no ETA without an expected total', () => {
    const m = meter();
    expect(m.sample(0, 1_000)).toEqual({ eventsDone: 0, eventsPerSecond: 0, etaMs: null });
    now = 1_000;
    expect(m.sample(500, null)).toEqual({ eventsDone: 500, eventsPerSecond: 500, etaMs: null });
  });

  it('gives the rate over the last few seconds and the time left at that rate', () => {
    const m = meter();
    m.sample(0, 100_000);
    now = 1_000;
    m.sample(10_000, 100_000); // a slow start: 10,000/s
    for (let s = 2; s <= 8; s++) {
      now = s * 1_000;
      m.sample(10_000 + (s - 1) * 20_000, 200_000);
    }
    // 150,000 done at 8 s; the window holds the last 5 s at 20,000/s
    expect(m.sample(150_000, 200_000)).toEqual({ eventsDone: 150_000, eventsPerSecond: 20_000, etaMs: 2_500 });
  });

  it('says 0 when done, and unknown (null) while nothing moves', () => {
    const m = meter();
    m.sample(100, 100);
    now = 1_000;
    expect(m.sample(100, 100).etaMs).toBe(0);
    expect(meter().sample(5, 10).etaMs).toBeNull();
  });
});
