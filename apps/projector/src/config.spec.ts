import { ConfigError } from '@cqrs/config';
import { loadProjectorConfig, projectionSettings } from './config';

describe('projector config', () => {
  it('defaults to the local stack: the projector role, the tasks topic, retries before parking a gap', () => {
    const config = loadProjectorConfig({});
    expect(config.DATABASE_URL).toContain('cqrs_projector');
    expect(config.MIGRATIONS_READ_DATABASE_URL).toContain('cqrs_owner');
    expect(projectionSettings(config)).toMatchObject({
      topics: ['tasks.task.events'],
      groupPrefix: 'tasks-projector',
      gapRetries: 3,
      createTopicsWithPartitions: 6,
      sessionTimeoutMs: 10_000,
    });
  });

  it('reads lists and numbers from the environment', () => {
    const config = loadProjectorConfig({ PROJECTOR_TOPICS: 'a.events, b.events', PROJECTOR_CONCURRENCY: '4' });
    expect(projectionSettings(config)).toMatchObject({ topics: ['a.events', 'b.events'], concurrency: 4 });
  });

  it('creates event topics that keep every event unless EVENT_TOPIC_RETENTION_MS bounds them (an hour or more)', () => {
    expect(projectionSettings(loadProjectorConfig({}))).toMatchObject({ eventTopicRetentionMs: -1 });
    expect(projectionSettings(loadProjectorConfig({ EVENT_TOPIC_RETENTION_MS: '604800000' }))).toMatchObject({
      eventTopicRetentionMs: 604_800_000,
    });
    expect(() => loadProjectorConfig({ EVENT_TOPIC_RETENTION_MS: '1000' })).toThrow(
      'EVENT_TOPIC_RETENTION_MS: must be -1 (keep every event) or a bounded retention of at least 3600000 ms',
    );
  });

  it('takes the admin API settings: the issuer of the APIs, no owner role for rebuilds unless given', () => {
    const config = loadProjectorConfig({});
    expect(config).toMatchObject({ OIDC_ISSUER_URL: 'http://127.0.0.1:8090', AUTH_ADMIN_ROLE: 'admin' });
    expect(config.ADMIN_REBUILD_DATABASE_URL).toBeUndefined();
    expect(config.OUTBOX_SLOT_NAME).toBe('cqrs_outbox_relay');
    expect(loadProjectorConfig({ ADMIN_REBUILD_DATABASE_URL: '' }).ADMIN_REBUILD_DATABASE_URL).toBeUndefined();
    expect(() => loadProjectorConfig({ ADMIN_REBUILD_DATABASE_URL: 'not a url' })).toThrow(
      'ADMIN_REBUILD_DATABASE_URL',
    );
    expect(() => loadProjectorConfig({ OUTBOX_SLOT_NAME: 'Bad-Slot' })).toThrow('OUTBOX_SLOT_NAME');
  });

  it('names every invalid variable', () => {
    expect(() => loadProjectorConfig({ PROJECTOR_CONCURRENCY: '0', KAFKA_BROKERS: '' })).toThrow(ConfigError);
  });

  it('reads the Kafka and registry security with the other settings, and reports all problems together', () => {
    expect(loadProjectorConfig({})).toMatchObject({
      kafkaSecurity: { protocol: 'PLAINTEXT' },
      schemaRegistry: { url: 'https://127.0.0.1:8081/apis/ccompat/v7' },
    });
    const config = loadProjectorConfig({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'cqrs-projector',
      KAFKA_SASL_PASSWORD: 'pw',
      SCHEMA_REGISTRY_TOKEN: 't',
    });
    expect(config.kafkaSecurity).toEqual({
      protocol: 'SASL_SSL',
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'cqrs-projector', password: 'pw' },
    });
    expect(config.schemaRegistry.token).toBe('t');
    let error: unknown;
    try {
      loadProjectorConfig({
        PROJECTOR_CONCURRENCY: '0',
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        SCHEMA_REGISTRY_USERNAME: 'u',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.variable)).toEqual([
      'PROJECTOR_CONCURRENCY',
      'KAFKA_SASL_MECHANISM',
      'SCHEMA_REGISTRY_PASSWORD',
    ]);
    expect((error as Error).message).toMatch(/^projector: invalid configuration/);
  });

  it('names the other contexts’ stream topics and groups with prefixes that keep them valid Kafka names', () => {
    const config = loadProjectorConfig({
      PROJECTOR_STREAM_TOPIC_PREFIX: 'e2e.run1.',
      PROJECTOR_STREAM_GROUP_PREFIX: 'run1-',
    });
    expect([config.PROJECTOR_STREAM_TOPIC_PREFIX, config.PROJECTOR_STREAM_GROUP_PREFIX]).toEqual([
      'e2e.run1.',
      'run1-',
    ]);
    expect(loadProjectorConfig({}).PROJECTOR_STREAM_TOPIC_PREFIX).toBe('');
    expect(() => loadProjectorConfig({ PROJECTOR_STREAM_TOPIC_PREFIX: 'bad prefix/' })).toThrow(
      /PROJECTOR_STREAM_TOPIC_PREFIX.*letters, digits/s,
    );
  });
});
