import { eventTopicConfig, isEventTopicRetention } from './event-topics';

describe('event topic settings', () => {
  it('keep every event by default: deleted by age (never compacted), never by size', () => {
    expect(eventTopicConfig()).toEqual([
      { name: 'cleanup.policy', value: 'delete' },
      { name: 'retention.ms', value: '-1' },
      { name: 'retention.bytes', value: '-1' },
    ]);
  });

  it('take a bound of an hour or more, and refuse anything else', () => {
    expect(eventTopicConfig(2_592_000_000)).toContainEqual({ name: 'retention.ms', value: '2592000000' });
    expect([-1, 3_600_000, 2_592_000_000].map(isEventTopicRetention)).toEqual([true, true, true]);
    expect([0, -2, 3_599_999, 1.5e6, Number.NaN, Number.POSITIVE_INFINITY].map(isEventTopicRetention)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(() => eventTopicConfig(60_000)).toThrow(
      'event topic retention 60000 ms: must be -1 (keep every event) or a bounded retention of at least 3600000 ms (one hour)',
    );
  });
});
