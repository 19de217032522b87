import { ConfigError } from '@cqrs/config';
import { loadQueryServiceConfig } from './config';

describe('query-service config', () => {
  it('has defaults that match the local stack, a 2 s read-your-writes wait and caching on', () => {
    const config = loadQueryServiceConfig({});
    expect(config.DATABASE_URL).toContain('cqrs_query');
    expect(config.READ_YOUR_WRITES_TIMEOUT_MS).toBe(2000);
    expect(config.CACHE_TASK_TIME_MS).toBeGreaterThan(0);
  });

  it('bounds the read pool: 2 s to get a connection, 5 s per statement, neither 0 (no limit)', () => {
    const config = loadQueryServiceConfig({});
    expect([config.DATABASE_ACQUIRE_TIMEOUT_MS, config.DATABASE_STATEMENT_TIMEOUT_MS]).toEqual([2000, 5000]);
    expect(() => loadQueryServiceConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '0' })).toThrow(
      /DATABASE_STATEMENT_TIMEOUT_MS/,
    );
    expect(() => loadQueryServiceConfig({ DATABASE_ACQUIRE_TIMEOUT_MS: '0' })).toThrow(/DATABASE_ACQUIRE_TIMEOUT_MS/);
  });

  it('rejects a fresh time longer than the cache time, naming the variable', () => {
    expect(() => loadQueryServiceConfig({ CACHE_TASK_FRESH_MS: '5000', CACHE_TASK_TIME_MS: '1000' })).toThrow(
      ConfigError,
    );
    expect(() => loadQueryServiceConfig({ CACHE_TASK_FRESH_MS: '5000', CACHE_TASK_TIME_MS: '1000' })).toThrow(
      /CACHE_TASK_FRESH_MS/,
    );
  });

  it('accepts a cache time of 0 (caching off) whatever the fresh time', () => {
    expect(loadQueryServiceConfig({ CACHE_USER_STATS_TIME_MS: '0' }).CACHE_USER_STATS_TIME_MS).toBe(0);
  });
});
