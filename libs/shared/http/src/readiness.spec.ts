import { Readiness, type ReadinessCheck } from './readiness';

describe('Readiness', () => {
  const logs: { level: 'warn' | 'log'; details: object; message: string }[] = [];
  const logger = {
    warn: (details: object, message: string) => logs.push({ level: 'warn', details, message }),
    log: (details: object, message: string) => logs.push({ level: 'log', details, message }),
  };
  beforeEach(() => (logs.length = 0));

  /** A check that fails while `failing` holds a reason, counting its calls. */
  function dependency(name: string) {
    const d = {
      calls: 0,
      failing: null as string | null,
      check: {
        name,
        check: async () => {
          d.calls++;
          if (d.failing) throw new Error(d.failing);
          return { secret: 'details never shown' };
        },
      } as ReadinessCheck,
    };
    return d;
  }

  it('answers up or down per dependency, nothing else', async () => {
    const db = dependency('postgres');
    const kafka = dependency('kafka');
    kafka.failing = 'connect ECONNREFUSED 10.0.0.7:9092';
    expect(await new Readiness([db.check, kafka.check], logger, { cacheMs: 0 }).verdict()).toEqual({
      postgres: 'up',
      kafka: 'down',
    });
  });

  it('serves a probe storm from one evaluation per interval', async () => {
    const db = dependency('postgres');
    const readiness = new Readiness([db.check], logger, { cacheMs: 200 });
    await Promise.all(Array.from({ length: 50 }, () => readiness.verdict()));
    await readiness.verdict();
    expect(db.calls).toBe(1);
    await new Promise((r) => setTimeout(r, 250));
    await readiness.verdict();
    expect(db.calls).toBe(2);
  });

  it('counts a check that does not answer in time as down', async () => {
    const hung: ReadinessCheck = { name: 'registry', check: () => new Promise(() => undefined) };
    expect(await new Readiness([hung], logger, { cacheMs: 0, checkTimeoutMs: 50 }).verdict()).toEqual({
      registry: 'down',
    });
    expect(logs).toEqual([
      expect.objectContaining({ level: 'warn', message: 'readiness: registry is down: no answer within 50 ms' }),
    ]);
  });

  it('logs why a dependency is down once when it goes down, and once when it is back', async () => {
    const db = dependency('postgres');
    const readiness = new Readiness([db.check], logger, { cacheMs: 0 });
    await readiness.verdict();
    db.failing = 'password authentication failed for user "cqrs_query"';
    for (let i = 0; i < 3; i++) await readiness.verdict();
    db.failing = null;
    for (let i = 0; i < 3; i++) await readiness.verdict();
    expect(logs.map((l) => [l.level, l.message])).toEqual([
      ['warn', 'readiness: postgres is down: password authentication failed for user "cqrs_query"'],
      ['log', 'readiness: postgres is up again'],
    ]);
    expect(logs[0]!.details).toMatchObject({ dependency: 'postgres', err: expect.any(Error) });
  });
});
