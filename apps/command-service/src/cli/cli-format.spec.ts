import { describeLoadHitRate, parseLoadHitRate } from './cli-format';

describe('event-store CLI: load hit rate from Prometheus text', () => {
  const exposition = [
    '# HELP event_replay_duration_seconds Time to load a stream and fold it into state.',
    '# TYPE event_replay_duration_seconds histogram',
    'event_replay_duration_seconds_bucket{le="0.005",from_snapshot="true"} 70',
    'event_replay_duration_seconds_sum{from_snapshot="true"} 0.2',
    'event_replay_duration_seconds_count{from_snapshot="true"} 90',
    'event_replay_duration_seconds_count{service="command-service",from_snapshot="false"} 10',
    'event_replay_duration_seconds_count_total{from_snapshot="false"} 999',
    'other_metric_count{from_snapshot="true"} 5',
  ].join('\n');

  it('sums the loads that started from a snapshot and those that did not', () => {
    expect(parseLoadHitRate(exposition)).toEqual({ fromSnapshot: 90, fromScratch: 10, hitRate: 0.9 });
  });

  it('has no rate before the first load, and nothing without the series', () => {
    expect(parseLoadHitRate('event_replay_duration_seconds_count{from_snapshot="false"} 0')).toEqual({
      fromSnapshot: 0,
      fromScratch: 0,
      hitRate: null,
    });
    expect(parseLoadHitRate('up 1\n')).toBeUndefined();
  });

  it('says plainly whether the rate is known', () => {
    const url = 'http://127.0.0.1:9000/metrics';
    expect(
      describeLoadHitRate({ available: true, metricsUrl: url, fromSnapshot: 90, fromScratch: 10, hitRate: 0.9 }),
    ).toBe(`load hit rate: 90.0% of 100 loads started from a snapshot (${url}, since that instance started)`);
    expect(
      describeLoadHitRate({ available: true, metricsUrl: url, fromSnapshot: 0, fromScratch: 0, hitRate: null }),
    ).toBe(`load hit rate: no loads yet (${url})`);
    expect(describeLoadHitRate({ available: false, metricsUrl: url, reason: 'ECONNREFUSED' })).toBe(
      `load hit rate: unknown, cannot read the command service's metrics at ${url} (ECONNREFUSED); is it running? (--metrics-url)`,
    );
  });
});
