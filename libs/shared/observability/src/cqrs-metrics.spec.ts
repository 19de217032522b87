import { CQRS_METRICS, cqrsMetric } from './cqrs-metrics';
import { metricsRegistry } from './metrics';

describe('the cqrs metric catalog', () => {
  it('creates each metric once, with its declared kind, labels and unit-matched buckets', async () => {
    for (const [name, def] of Object.entries(CQRS_METRICS)) {
      const metric = cqrsMetric(name as keyof typeof CQRS_METRICS);
      expect(cqrsMetric(name as keyof typeof CQRS_METRICS)).toBe(metric);
      const { type, help } = await metric.get();
      expect([name, type]).toEqual([name, def.kind]);
      expect(help).toBe(def.help);
      if (def.kind === 'histogram') {
        // milliseconds or seconds, as the name says, from sub-millisecond to 10 s
        expect(name).toMatch(/_(ms|seconds)$/);
        const buckets = [...(def.buckets ?? [])];
        expect(buckets.at(-1)).toBe(name.endsWith('_ms') ? 10_000 : 10);
        expect(buckets[0]).toBeLessThanOrEqual(name.endsWith('_ms') ? 1 : 0.001);
      }
    }
  });

  it('follows Prometheus naming: counters end in _total, units are in the name', () => {
    for (const [name, def] of Object.entries(CQRS_METRICS)) {
      expect([name, def.kind === 'counter']).toEqual([name, name.endsWith('_total')]);
      expect(name).toMatch(/^(cqrs|event)_[a-z_]+$/);
    }
  });

  it('rejects a label the catalog does not declare, so a typo cannot start a new series', () => {
    const commands = cqrsMetric('cqrs_command_total');
    expect(() => commands.inc({ type: 'CreateTask', outcome: 'ok' } as never)).toThrow(/label/i);
  });

  it('shows up on /metrics with its labels once used', async () => {
    cqrsMetric('cqrs_query_total').inc({ type: 'GetTask', cache_hit: 'true' });
    cqrsMetric('cqrs_query_duration_ms').observe({ type: 'GetTask', cache_hit: 'true' }, 0.7);
    const text = await metricsRegistry.metrics();
    expect(text).toContain('# TYPE cqrs_query_total counter');
    expect(text).toMatch(/^cqrs_query_total\{type="GetTask",cache_hit="true"\} 1$/m);
    expect(text).toMatch(/^cqrs_query_duration_ms_bucket\{le="1",type="GetTask",cache_hit="true"\} 1$/m);
  });
});
