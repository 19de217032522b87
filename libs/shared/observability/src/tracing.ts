import { suppressTracing } from '@opentelemetry/core';
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TimeInput,
} from '@opentelemetry/api';

const tracer = () => trace.getTracer('cqrs-starter');

/** Where a span sits and what it points at; every field is optional. */
export interface SpanOptions {
  attributes?: Attributes;
  /** The parent context; @default the active one. */
  parent?: Context;
  /** Start a new trace, ignoring any parent. @default false */
  root?: boolean;
  links?: Link[];
  /** @default SpanKind.INTERNAL */
  kind?: SpanKind;
  startTime?: TimeInput;
}

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
  options: SpanOptions = {},
): Promise<T> {
  const { parent, ...spanOptions } = options;
  return tracer().startActiveSpan(name, spanOptions, parent ?? context.active(), async (span) => {
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

/**
 * Starts a span without making it active, for work that is not one call: one span per record of a
 * batch, each under its own trace. The caller ends it (and records an error on it) itself.
 */
export function startSpan(name: string, options: SpanOptions = {}): Span {
  const { parent, ...spanOptions } = options;
  return tracer().startSpan(name, spanOptions, parent ?? context.active());
}

/** Runs `fn` with `span` as the active span (so spans and log lines inside are its children). */
export function withActiveSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/**
 * Runs `fn` with tracing suppressed: no spans start inside it, and instrumentations inject no
 * trace headers. For sends that must keep the headers they were given, e.g. a dead letter that
 * carries its original record's `traceparent` (the kafkajs instrumentation would replace it).
 */
export function withoutTracing<T>(fn: () => T): T {
  return context.with(suppressTracing(context.active()), fn);
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
