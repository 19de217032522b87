import { ConfigError } from '@cqrs/config';
import { DEFAULT_HEADER_PLACEMENT, loadOutboxRelayConfig } from './config';

describe('outbox-relay configuration', () => {
  it('defaults to the local stack, the relay slot and the Debezium-compatible routing', () => {
    const config = loadOutboxRelayConfig({});
    expect(config).toMatchObject({
      DATABASE_URL: 'postgres://cqrs_relay:cqrs@127.0.0.1:5433/cqrs_write',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      OUTBOX_SLOT_NAME: 'cqrs_outbox_relay',
      OUTBOX_PUBLICATION: 'cqrs_outbox',
      OUTBOX_TOPIC_AUTOCREATE: true,
      OUTBOX_TOPIC_PARTITIONS: 6,
      OUTBOX_SLOT_AUTOCREATE: true,
    });
    expect(config.OUTBOX_TOPIC_REPLACEMENT.text).toBe('${aggregatetype}.events');
    expect(config.OUTBOX_HEADER_PLACEMENT.text).toBe(DEFAULT_HEADER_PLACEMENT);
    expect(config.OUTBOX_HEADER_PLACEMENT.value.map((p) => p.header)).toEqual([
      'aggregateVersion',
      'traceparent',
      'tracestate',
      'correlationId',
    ]);
  });

  it("keeps the leader session's wal_sender_timeout several status intervals long", () => {
    expect(loadOutboxRelayConfig({}).OUTBOX_WAL_SENDER_TIMEOUT_MS).toBe(10_000);
    expect(
      loadOutboxRelayConfig({ OUTBOX_WAL_SENDER_TIMEOUT_MS: '3000', OUTBOX_STATUS_INTERVAL_MS: '1000' })
        .OUTBOX_WAL_SENDER_TIMEOUT_MS,
    ).toBe(3000);
    expect(() =>
      loadOutboxRelayConfig({ OUTBOX_WAL_SENDER_TIMEOUT_MS: '5000', OUTBOX_STATUS_INTERVAL_MS: '2000' }),
    ).toThrow('OUTBOX_WAL_SENDER_TIMEOUT_MS: must be at least 3 x OUTBOX_STATUS_INTERVAL_MS (2000 ms)');
  });

  it('reports every bad variable at once, by name, with what is wrong', () => {
    let error: unknown;
    try {
      loadOutboxRelayConfig({
        OUTBOX_SLOT_NAME: 'Relay-Slot',
        OUTBOX_HEADER_PLACEMENT: 'traceparent:envelope',
        OUTBOX_TOPIC_REPLACEMENT: '${aggregate}.events',
        OUTBOX_TOPIC_PARTITIONS: '0',
        OUTBOX_TOPIC_AUTOCREATE: 'maybe',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('OUTBOX_SLOT_NAME: a slot name is 1-63 lower-case letters');
    expect(message).toContain('OUTBOX_HEADER_PLACEMENT: "traceparent:envelope" places traceparent in "envelope"');
    expect(message).toContain('OUTBOX_TOPIC_REPLACEMENT: unknown placeholder ${aggregate}');
    expect(message).toContain('OUTBOX_TOPIC_PARTITIONS');
    expect(message).toContain('OUTBOX_TOPIC_AUTOCREATE');
  });

  it('lingers 5 ms and confirms at most every 100 ms by default, and rejects negative or huge values by name', () => {
    expect(loadOutboxRelayConfig({})).toMatchObject({
      OUTBOX_LINGER_MS: 5,
      OUTBOX_CONFIRM_INTERVAL_MS: 100,
      OUTBOX_PRODUCERS: 2,
    });
    expect(() => loadOutboxRelayConfig({ OUTBOX_PRODUCERS: '0' })).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/OUTBOX_PRODUCERS/) }),
    );
    expect(loadOutboxRelayConfig({ OUTBOX_LINGER_MS: '0', OUTBOX_CONFIRM_INTERVAL_MS: '0' })).toMatchObject({
      OUTBOX_LINGER_MS: 0,
      OUTBOX_CONFIRM_INTERVAL_MS: 0,
    });
    expect(() => loadOutboxRelayConfig({ OUTBOX_LINGER_MS: '5000', OUTBOX_CONFIRM_INTERVAL_MS: '-1' })).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(
          /OUTBOX_LINGER_MS[\s\S]*OUTBOX_CONFIRM_INTERVAL_MS|OUTBOX_CONFIRM_INTERVAL_MS[\s\S]*OUTBOX_LINGER_MS/,
        ),
      }),
    );
  });

  it('creates event topics that keep every event unless EVENT_TOPIC_RETENTION_MS bounds them (an hour or more)', () => {
    expect(loadOutboxRelayConfig({}).EVENT_TOPIC_RETENTION_MS).toBe(-1);
    expect(loadOutboxRelayConfig({ EVENT_TOPIC_RETENTION_MS: '2592000000' }).EVENT_TOPIC_RETENTION_MS).toBe(
      2_592_000_000,
    );
    for (const bad of ['0', '-2', '60000', 'forever']) {
      expect(() => loadOutboxRelayConfig({ EVENT_TOPIC_RETENTION_MS: bad })).toThrow(/EVENT_TOPIC_RETENTION_MS/);
    }
    expect(() => loadOutboxRelayConfig({ EVENT_TOPIC_RETENTION_MS: '60000' })).toThrow(
      'EVENT_TOPIC_RETENTION_MS: must be -1 (keep every event) or a bounded retention of at least 3600000 ms',
    );
  });
});
