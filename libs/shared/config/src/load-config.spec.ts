import { ConfigError, env, loadConfig } from './load-config';

const shape = { PORT: env.port(3000), KAFKA_BROKERS: env.list('127.0.0.1:9092'), FLAG: env.bool(false) };

describe('loadConfig', () => {
  it('applies local defaults when variables are absent', () => {
    expect(loadConfig('svc', shape, {})).toEqual({ PORT: 3000, KAFKA_BROKERS: ['127.0.0.1:9092'], FLAG: false });
  });

  it('coerces strings from the environment', () => {
    expect(loadConfig('svc', shape, { PORT: '8080', KAFKA_BROKERS: 'a:1, b:2', FLAG: 'true' })).toEqual({
      PORT: 8080,
      KAFKA_BROKERS: ['a:1', 'b:2'],
      FLAG: true,
    });
  });

  it('reports every invalid variable by name in one error', () => {
    const attempt = () => loadConfig('svc', shape, { PORT: 'eighty', FLAG: 'maybe' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const e = error as ConfigError;
      expect(e.issues.map((i) => i.variable).sort()).toEqual(['FLAG', 'PORT']);
      expect(e.message).toContain('svc: invalid configuration');
    }
  });
});
