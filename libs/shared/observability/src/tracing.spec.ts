import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { NodeSDK, type tracing } from '@opentelemetry/sdk-node';
import {
  activeTraceIds,
  contextFromCarrier,
  currentTraceCarrier,
  linkFromCarrier,
  startSpan,
  withActiveSpan,
  withoutTracing,
  withSpan,
} from './tracing';

// The helpers against the SDK the apps run (NodeSDK: W3C propagation, async context), with the
// ended spans kept in memory instead of exported.
type ReadableSpan = tracing.ReadableSpan;
const ended: ReadableSpan[] = [];
const collect: tracing.SpanProcessor = {
  onStart: () => undefined,
  onEnd: (span) => void ended.push(span),
  forceFlush: async () => undefined,
  shutdown: async () => undefined,
};
const sdk = new NodeSDK({ spanProcessors: [collect], instrumentations: [] });
beforeAll(() => sdk.start());
afterAll(() => sdk.shutdown());
beforeEach(() => void ended.splice(0));

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const REMOTE = {
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  tracestate: 'congo=t61rcWkgMzE',
};

describe('withSpan', () => {
  it('nests spans, makes the span active for what runs inside, and returns the result', async () => {
    const result = await withSpan(
      'command.CreateTask',
      async () => {
        const ids = activeTraceIds();
        const carrier = currentTraceCarrier();
        await withSpan('event_store.append', () => undefined);
        return { ids, carrier };
      },
      { attributes: { 'cqrs.command.type': 'CreateTask' } },
    );
    const [inner, outer] = ended;
    expect(outer!.name).toBe('command.CreateTask');
    expect(outer!.attributes).toEqual({ 'cqrs.command.type': 'CreateTask' });
    expect(parentOf(inner!)).toBe(outer!.spanContext().spanId);
    expect(result.ids).toEqual({ trace_id: outer!.spanContext().traceId, span_id: outer!.spanContext().spanId });
    expect(result.carrier.traceparent).toBe(`00-${outer!.spanContext().traceId}-${outer!.spanContext().spanId}-01`);
  });

  it('records a thrown error (exception event, error status, its code) and rethrows it', async () => {
    const error = Object.assign(new Error('task 1 does not exist'), { code: 'TASK_NOT_FOUND' });
    await expect(withSpan('command.StartTask', () => Promise.reject(error))).rejects.toBe(error);
    const [span] = ended;
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'task 1 does not exist' });
    expect(span!.attributes['error.code']).toBe('TASK_NOT_FOUND');
    expect(span!.events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([
      ['exception', 'task 1 does not exist'],
    ]);
  });

  it('continues a remote trace from W3C headers (an outbox row, a Kafka record)', async () => {
    await withSpan('event.TaskCreated', () => undefined, {
      parent: contextFromCarrier(REMOTE),
      kind: SpanKind.CONSUMER,
    });
    const [span] = ended;
    expect(span!.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(parentOf(span!)).toBe('00f067aa0ba902b7');
    expect(span!.kind).toBe(SpanKind.CONSUMER);
    expect(span!.spanContext().traceState?.get('congo')).toBe('t61rcWkgMzE');
  });
});

describe('startSpan, withActiveSpan and links', () => {
  it('starts spans that are not active, under explicit parents, with links to other traces', async () => {
    const a = startSpan('event.TaskCreated', { parent: contextFromCarrier(REMOTE) });
    const link = linkFromCarrier(REMOTE);
    expect(link?.context.spanId).toBe('00f067aa0ba902b7');
    expect(trace.getActiveSpan()).toBeUndefined();
    const batch = startSpan('read_model.transaction', { links: [{ context: a.spanContext() }] });
    await withActiveSpan(batch, () => withSpan('pg.query:COMMIT', () => undefined));
    batch.end();
    a.end();
    const byName = Object.fromEntries(ended.map((s) => [s.name, s]));
    expect(parentOf(byName['pg.query:COMMIT']!)).toBe(batch.spanContext().spanId);
    expect(byName['read_model.transaction']!.links.map((l) => l.context.spanId)).toEqual([a.spanContext().spanId]);
    expect(linkFromCarrier({})).toBeUndefined();
  });
});

describe('withoutTracing', () => {
  it('starts no spans and injects no headers inside, so a forwarded record keeps its own traceparent', async () => {
    await withSpan('projector.batch', () =>
      withoutTracing(() => {
        const headers: Record<string, string> = { traceparent: REMOTE.traceparent };
        propagation.inject(context.active(), headers);
        expect(headers.traceparent).toBe(REMOTE.traceparent);
        expect(startSpan('send dlq').isRecording()).toBe(false);
      }),
    );
    expect(ended.map((s) => s.name)).toEqual(['projector.batch']);
  });
});
