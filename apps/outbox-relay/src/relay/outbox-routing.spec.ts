import {
  BYTEA_OID,
  compileTopicReplacement,
  OutboxRouter,
  parseHeaderPlacement,
  parsePgTimestamp,
  RelayConfigError,
  UnroutableRowError,
} from './outbox-routing';

const TEXT = 25;
const outboxColumns = [
  { name: 'id', typeOid: 2950 },
  { name: 'aggregatetype', typeOid: TEXT },
  { name: 'aggregateid', typeOid: TEXT },
  { name: 'type', typeOid: TEXT },
  { name: 'payload', typeOid: BYTEA_OID },
  { name: 'timestamp', typeOid: 1184 },
  { name: 'aggregateversion', typeOid: 20 },
  { name: 'traceparent', typeOid: TEXT },
  { name: 'tracestate', typeOid: TEXT },
  { name: 'correlationid', typeOid: TEXT },
];
const defaultPlacement = parseHeaderPlacement(
  'aggregateversion:header:aggregateVersion,traceparent:header:traceparent,tracestate:header:tracestate,correlationid:header:correlationId',
);

describe('header placement (Debezium table.fields.additional.placement syntax)', () => {
  it('reads column:header:alias entries, the alias defaulting to the column', () => {
    expect(parseHeaderPlacement(' aggregateversion:header:aggregateVersion , tenant:header ')).toEqual([
      { column: 'aggregateversion', header: 'aggregateVersion' },
      { column: 'tenant', header: 'tenant' },
    ]);
    expect(parseHeaderPlacement('')).toEqual([]);
  });

  it('refuses envelope and partition placements, naming the setting', () => {
    expect(() => parseHeaderPlacement('type:envelope:eventType')).toThrow(RelayConfigError);
    expect(() => parseHeaderPlacement('type:envelope:eventType')).toThrow(
      /OUTBOX_HEADER_PLACEMENT: .*only "header" is supported/,
    );
  });

  it('refuses malformed entries and duplicate or reserved header names', () => {
    expect(() => parseHeaderPlacement('justacolumn')).toThrow('is not column:header[:alias]');
    expect(() => parseHeaderPlacement('a:header:x:y')).toThrow('is not column:header[:alias]');
    expect(() => parseHeaderPlacement('a:header:x,b:header:x')).toThrow('header "x" is given twice');
    expect(() => parseHeaderPlacement('type:header:eventType')).toThrow('header "eventType" is given twice');
  });
});

describe('topic replacement', () => {
  it('substitutes the aggregate type (and Debezium’s ${routedByValue})', () => {
    expect(compileTopicReplacement('${aggregatetype}.events')('tasks.task')).toBe('tasks.task.events');
    expect(compileTopicReplacement('outbox.${routedByValue}')('tasks.task')).toBe('outbox.tasks.task');
  });

  it('rejects unknown placeholders at start-up', () => {
    expect(() => compileTopicReplacement('${aggregateType}.events')).toThrow('unknown placeholder ${aggregateType}');
  });

  it('refuses to route a row whose aggregate type makes an illegal topic name', () => {
    expect(() => compileTopicReplacement('${aggregatetype}.events')('tasks task')).toThrow(UnroutableRowError);
  });
});

describe('OutboxRouter', () => {
  const router = new OutboxRouter('${aggregatetype}.events', defaultPlacement);
  const table = router.bind('public.outbox', outboxColumns);
  const payload = Buffer.from([0, 0, 0, 0, 42, 1, 2, 3]);

  it('routes a row like the EventRouter: topic, key, untouched value, id/eventType and placed headers', () => {
    const record = router.route(table, [
      '7d1b6a38-5f0e-4a55-9b0a-0c2b5a3c1f00',
      'tasks.task',
      'task-1',
      'TaskCreated',
      payload,
      '2025-03-04 05:06:07.123456+00',
      '3',
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      null,
      'corr-9',
    ]);
    expect(record).toEqual({
      topic: 'tasks.task.events',
      key: 'task-1',
      value: payload,
      headers: {
        id: '7d1b6a38-5f0e-4a55-9b0a-0c2b5a3c1f00',
        eventType: 'TaskCreated',
        aggregateVersion: '3',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        tracestate: null,
        correlationId: 'corr-9',
      },
      timestampMs: Date.UTC(2025, 2, 4, 5, 6, 7, 123),
    });
    expect(record.value).toBe(payload);
  });

  it('names the missing column when a table is not an outbox it can route', () => {
    const withoutType = outboxColumns.filter((c) => c.name !== 'type' && c.name !== 'traceparent');
    expect(() => router.bind('public.events', withoutType)).toThrow(
      'table public.events has no column type, traceparent',
    );
  });

  it('refuses a row without an aggregate type instead of guessing a topic', () => {
    expect(() => router.route(table, ['id-1', null, 'k', 'T', payload, null, '1', null, null, null])).toThrow(
      'has no aggregatetype',
    );
  });
});

describe('parsePgTimestamp', () => {
  it('reads Postgres ISO output with any offset and precision', () => {
    expect(parsePgTimestamp('2025-01-02 03:04:05+00')).toBe(Date.UTC(2025, 0, 2, 3, 4, 5));
    expect(parsePgTimestamp('2025-01-02 03:04:05.5+02')).toBe(Date.UTC(2025, 0, 2, 1, 4, 5, 500));
    expect(parsePgTimestamp('2025-01-02 03:04:05.000999-05:30')).toBe(Date.UTC(2025, 0, 2, 8, 34, 5, 0));
    expect(parsePgTimestamp(null)).toBeNull();
    expect(parsePgTimestamp('infinity')).toBeNull();
  });
});
