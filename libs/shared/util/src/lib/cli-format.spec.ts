import { InvalidArgumentError } from 'commander';
import {
  describeLoadHitRate,
  formatAge,
  formatBytes,
  formatDurationMs,
  parseDuration,
  parseLoadHitRate,
  parsePositiveInt,
  table,
} from './cli-format';

describe('event-store CLI: parsing', () => {
  it.each([
    ['90d', 90 * 86_400_000],
    ['12h', 12 * 3_600_000],
    ['30m', 1_800_000],
    ['45s', 45_000],
    ['500ms', 500],
    ['0d', 0],
  ])('reads the duration %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['90', '1.5d', '-1d', 'd', '3w', '', '10 days'])(
    'refuses the duration %j with a readable message',
    (text) => {
      expect(() => parseDuration(text)).toThrow(InvalidArgumentError);
      expect(() => parseDuration(text)).toThrow(/is not a duration: use a whole number and a unit, e\.g\. 90d/);
    },
  );

  it('reads positive integers and refuses anything else', () => {
    expect(parsePositiveInt('5')).toBe(5);
    for (const bad of ['0', '-1', '1.5', 'x', '', '1e3'])
      expect(() => parsePositiveInt(bad)).toThrow(/is not a positive integer/);
  });
});

describe('event-store CLI: printing', () => {
  it('writes durations in the largest whole unit', () => {
    expect([90 * 86_400_000, 36 * 3_600_000, 90_000, 1500].map(formatDurationMs)).toEqual([
      '90d',
      '36h',
      '90s',
      '1500ms',
    ]);
  });

  it('writes ages and sizes readably', () => {
    expect([null, 42, 600, 3 * 3600, 12.5 * 86_400].map(formatAge)).toEqual([
      '-',
      '42 s',
      '10.0 min',
      '3.0 h',
      '12.5 d',
    ]);
    expect([0, 512, 1536, 20 * 1024 * 1024].map(formatBytes)).toEqual(['0 B', '512 B', '1.5 KiB', '20.0 MiB']);
  });

  it('aligns tables', () => {
    expect(
      table([
        { a: 1, bb: 'x' },
        { a: 100, bb: null },
      ]),
    ).toBe('a    bb\n1    x\n100  -');
    expect(table([])).toBe('(none)');
  });
});

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
