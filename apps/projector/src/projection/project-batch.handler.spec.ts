import { context, SpanKind, SpanStatusCode, trace, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { useInMemoryTracing } from '@cqrs/testing';
import type { ConsumedRecord, ConsumerLogger, DeadLetterPublisher } from '@cqrs/messaging/consumer';
import type { TaskEvent } from '@cqrs/tasks-domain';
import type {
  BatchOutcome,
  ParkedRecord,
  RecordOverrides,
  SequencedRecord,
  TaskReadModelWriter,
} from '@cqrs/tasks-read-model';
import { projectBatch } from './project-batch.handler';
import type { TaskRecordDecoder } from './task-record.decoder';

// The handler's spans against a real SDK (async context, W3C propagation), ended spans kept in
// memory; its dependencies are fakes, so what is checked is how the spans of a batch relate.
const exporter = useInMemoryTracing();

// Two commands' traces, as the outbox forwards them into the Kafka headers.
const TRACE_A = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
const TRACE_B = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
const traceparent = (t: { traceId: string; spanId: string }) => `00-${t.traceId}-${t.spanId}-01`;

const taskIds = ['7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11', '1b4e28ba-2fa1-41d2-883f-0016d3cca427'];
let nextOffset = 0;
function consumed(taskId: string, headers: Record<string, string>): ConsumedRecord {
  return {
    topic: 'tasks.task-events',
    partition: 0,
    offset: String(nextOffset++),
    key: Buffer.from(taskId),
    value: Buffer.from('{}'),
    headers,
    timestamp: '0',
  };
}

/** The plan the fake writer reports: every record applied unless `outcome` says otherwise. */
type Verdict = 'applied' | 'duplicate' | 'parked';

function setup(options: { outcome?: (record: SequencedRecord<TaskEvent>) => Verdict; fail?: Error } = {}) {
  const applyContexts: (SpanContext | undefined)[] = [];
  const decode = async (
    r: Pick<ConsumedRecord, 'topic' | 'partition' | 'offset' | 'key' | 'value' | 'headers'>,
  ): Promise<SequencedRecord<TaskEvent>> => {
    const taskId = r.key?.toString('utf8') ?? '';
    return {
      source: {
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        key: r.key,
        value: r.value,
        headers: r.headers,
      },
      decoded: {
        ok: true,
        streamId: taskId,
        version: 2,
        event: { type: 'TaskStarted', data: { taskId, startedAt: '2025-01-02T00:00:00.000Z' } },
      },
    };
  };
  const decoder = { decode, decodeAll: (records: readonly ConsumedRecord[]) => Promise.all(records.map(decode)) };
  const applyBatch = async (records: readonly SequencedRecord<TaskEvent>[]): Promise<BatchOutcome> => {
    applyContexts.push(trace.getActiveSpan()?.spanContext());
    if (options.fail) throw options.fail;
    const verdict = options.outcome ?? (() => 'applied');
    const parked: ParkedRecord[] = records
      .filter((r) => verdict(r) === 'parked')
      .map((r) => ({
        source: r.source,
        streamId: r.decoded.streamId,
        version: r.decoded.version,
        reason: 'INVARIANT_VIOLATED',
        code: 'KEY_MISMATCH',
        message: 'not this task',
      }));
    return {
      plan: {
        changes: new Map(),
        checkpoints: new Map(),
        duplicates: records.filter((r) => verdict(r) === 'duplicate'),
        parked,
        gaps: [],
        applied: records.filter((r) => verdict(r) === 'applied'),
      },
      notices: [],
    };
  };
  const writer = { applyBatch, healGaps: async () => [] };
  const logger: ConsumerLogger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  };
  const handler = projectBatch({
    writer: writer as unknown as TaskReadModelWriter,
    decoder: decoder as unknown as TaskRecordDecoder,
    dlq: { publish: async () => undefined } as unknown as DeadLetterPublisher,
    overrides: { forRange: async () => new Map() } as unknown as RecordOverrides,
    gapRetries: 3,
    logger,
  });
  const run = (records: ConsumedRecord[]) => handler(records, { attempt: 1, signal: new AbortController().signal });
  return { run, applyContexts };
}

const finished = () => exporter.getFinishedSpans();
const named = (name: string) => finished().filter((s) => s.name === name);
const only = (name: string): ReadableSpan => {
  const spans = named(name);
  expect(spans).toHaveLength(1);
  return spans[0] as ReadableSpan;
};
const ids = (span: ReadableSpan) => ({ traceId: span.spanContext().traceId, spanId: span.spanContext().spanId });
const eventSpanFor = (taskId: string) => {
  const span = named('event.TaskStarted').find((s) => s.attributes['cqrs.stream.id'] === taskId);
  if (!span) throw new Error(`no event span for ${taskId}`);
  return span;
};

describe('projectBatch tracing', () => {
  it('makes the transaction of a one-event batch the child of the event span, which continues the command trace', async () => {
    const { run, applyContexts } = setup();
    await run([consumed(taskIds[0] as string, { traceparent: traceparent(TRACE_A), aggregateVersion: '2' })]);

    const event = only('event.TaskStarted');
    expect(event.kind).toBe(SpanKind.CONSUMER);
    expect(event.spanContext().traceId).toBe(TRACE_A.traceId);
    expect(event.parentSpanContext?.spanId).toBe(TRACE_A.spanId);
    expect(event.attributes['cqrs.event.outcome']).toBe('applied');
    expect(event.status.code).not.toBe(SpanStatusCode.ERROR);

    const transaction = only('read_model.transaction');
    expect(transaction.spanContext().traceId).toBe(TRACE_A.traceId);
    expect(transaction.parentSpanContext?.spanId).toBe(event.spanContext().spanId);
    expect(transaction.links).toEqual([]);
    // The writer runs inside the transaction span, so its statements' spans land under it.
    expect(applyContexts.map((c) => c?.spanId)).toEqual([transaction.spanContext().spanId]);
    expect(finished()).toHaveLength(2);
  });

  it('makes the transaction of a batch from several traces a root span linked to every event span', async () => {
    const { run, applyContexts } = setup({
      outcome: (r) => (r.decoded.streamId === taskIds[1] ? 'duplicate' : 'applied'),
    });
    // As in production, where the kafkajs instrumentation's batch span is active around the handler.
    const consumerSpan = trace.getTracer('test').startSpan('tasks process');
    await context.with(trace.setSpan(context.active(), consumerSpan), () =>
      run([
        consumed(taskIds[0] as string, { traceparent: traceparent(TRACE_A) }),
        consumed(taskIds[1] as string, { traceparent: traceparent(TRACE_B) }),
      ]),
    );
    consumerSpan.end();

    const a = eventSpanFor(taskIds[0] as string);
    const b = eventSpanFor(taskIds[1] as string);
    expect(named('event.TaskStarted')).toHaveLength(2);
    expect([a.kind, b.kind]).toEqual([SpanKind.CONSUMER, SpanKind.CONSUMER]);
    expect([a.spanContext().traceId, a.parentSpanContext?.spanId]).toEqual([TRACE_A.traceId, TRACE_A.spanId]);
    expect([b.spanContext().traceId, b.parentSpanContext?.spanId]).toEqual([TRACE_B.traceId, TRACE_B.spanId]);
    // Each event span ends with what became of its record.
    expect([a.attributes['cqrs.event.outcome'], b.attributes['cqrs.event.outcome']]).toEqual(['applied', 'duplicate']);

    const transaction = only('read_model.transaction');
    expect(transaction.parentSpanContext).toBeUndefined();
    expect([TRACE_A.traceId, TRACE_B.traceId, consumerSpan.spanContext().traceId]).not.toContain(
      transaction.spanContext().traceId,
    );
    expect([a.attributes['messaging.batch.message_count'], b.attributes['messaging.batch.message_count']]).toEqual([
      2, 2,
    ]);
    expect(transaction.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId }))).toEqual([
      ids(a),
      ids(b),
    ]);
    expect(applyContexts.map((c) => c?.spanId)).toEqual([transaction.spanContext().spanId]);
  });

  it('counts only traced records: one traced record among untraced ones still parents the transaction', async () => {
    const { run } = setup();
    await run([
      consumed(taskIds[0] as string, {}),
      consumed(taskIds[1] as string, { traceparent: traceparent(TRACE_B) }),
    ]);

    const event = only('event.TaskStarted');
    expect(event.attributes['cqrs.stream.id']).toBe(taskIds[1]);
    const transaction = only('read_model.transaction');
    expect(transaction.parentSpanContext?.spanId).toBe(event.spanContext().spanId);
    expect(transaction.spanContext().traceId).toBe(TRACE_B.traceId);
  });

  it('starts no spans for a batch without trace headers', async () => {
    const { run, applyContexts } = setup();
    await run([consumed(taskIds[0] as string, {}), consumed(taskIds[1] as string, {})]);
    expect(finished()).toEqual([]);
    expect(applyContexts).toEqual([undefined]);
  });

  it('ends the event span of a parked record failed, with the parking code', async () => {
    const { run } = setup({ outcome: () => 'parked' });
    await run([consumed(taskIds[0] as string, { traceparent: traceparent(TRACE_A) })]);

    const event = only('event.TaskStarted');
    expect(event.attributes['cqrs.event.outcome']).toBe('parked');
    expect(event.attributes['error.code']).toBe('KEY_MISMATCH');
    expect(event.status).toEqual({ code: SpanStatusCode.ERROR, message: 'not this task' });
    expect(only('read_model.transaction').status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('ends every span of the batch failed and rethrows when the writer rejects', async () => {
    const error = Object.assign(new Error('connection terminated'), { code: 'ECONNRESET' });
    const { run } = setup({ fail: error });
    await expect(
      run([
        consumed(taskIds[0] as string, { traceparent: traceparent(TRACE_A) }),
        consumed(taskIds[1] as string, { traceparent: traceparent(TRACE_B) }),
      ]),
    ).rejects.toBe(error);

    const spans = [...named('event.TaskStarted'), ...named('read_model.transaction')];
    expect(spans.map((s) => s.name).sort()).toEqual([
      'event.TaskStarted',
      'event.TaskStarted',
      'read_model.transaction',
    ]);
    for (const span of spans) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'connection terminated' });
      expect(span.attributes['error.code']).toBe('ECONNRESET');
      expect(span.events.map((e) => e.name)).toEqual(['exception']);
      expect(span.attributes['cqrs.event.outcome']).toBeUndefined();
    }
  });
});
