import { context, propagation, SpanStatusCode, trace, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api';

const tracer = () => trace.getTracer('cqrs-starter');

/** W3C trace context headers of the active span (what the outbox stores and Kafka carries). */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/** The active trace context as W3C headers; empty when tracing is off or nothing is active. */
export function currentTraceCarrier(): TraceCarrier {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return { traceparent: carrier['traceparent'], tracestate: carrier['tracestate'] };
}

/** The context a W3C carrier (headers of a Kafka record, columns of an outbox row) describes. */
export function contextFromCarrier(carrier: TraceCarrier): Context {
  const headers: Record<string, string> = {};
  if (carrier.traceparent) headers['traceparent'] = carrier.traceparent;
  if (carrier.tracestate) headers['tracestate'] = carrier.tracestate;
  return propagation.extract(context.active(), headers);
}

/** A link to the span a carrier names, for work done on behalf of many traces (a batch). */
export function linkFromCarrier(carrier: TraceCarrier): Link | undefined {
  const span = trace.getSpanContext(contextFromCarrier(carrier));
  return span ? { context: span } : undefined;
}

/**
 * Runs `fn` in a span named `name` (e.g. `command.CreateTask`), as a child of the active
 * context or of `parent`. A thrown error is recorded on the span (exception event, error status)
 * and rethrown.
 */
export async function withSpan<T>(
  name: string,
  fn: (span: Span) => Promise<T> | T,
  options: { attributes?: Attributes; parent?: Context; links?: Link[] } = {},
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes: options.attributes, links: options.links }, options.parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Marks a span failed with the error (and its stable `code`, when it has one). */
export function recordError(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') span.setAttribute('error.code', code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
}

/** trace_id and span_id of the active span, for log lines written outside pino's mixin. */
export function activeTraceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan()?.spanContext();
  return span ? { trace_id: span.traceId, span_id: span.spanId } : {};
}
