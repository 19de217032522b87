import { ConfigError } from '@cqrs/config';
import { loadProjectorConfig, projectionSettings } from './config';

describe('projector config', () => {
  it('defaults to the local stack: the projector role, the tasks topic, retries before parking a gap', () => {
    const config = loadProjectorConfig({});
    expect(config.DATABASE_URL).toContain('cqrs_projector');
    expect(config.MIGRATIONS_READ_DATABASE_URL).toContain('cqrs_owner');
    expect(projectionSettings(config)).toMatchObject({ topics: ['tasks.task.events'], groupPrefix: 'tasks-projector', gapRetries: 3, createTopicsWithPartitions: 6, sessionTimeoutMs: 10_000 });
  });

  it('reads lists and numbers from the environment', () => {
    const config = loadProjectorConfig({ PROJECTOR_TOPICS: 'a.events, b.events', PROJECTOR_CONCURRENCY: '4' });
    expect(projectionSettings(config)).toMatchObject({ topics: ['a.events', 'b.events'], concurrency: 4 });
  });

  it('names every invalid variable', () => {
    expect(() => loadProjectorConfig({ PROJECTOR_CONCURRENCY: '0', KAFKA_BROKERS: '' })).toThrow(ConfigError);
  });
});
