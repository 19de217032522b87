import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { tracing } from '@opentelemetry/sdk-node';

/** The Jest lifecycle hooks (the globals, unless given). */
interface LifecycleHooks {
  beforeAll(fn: () => unknown): void;
  afterAll(fn: () => unknown): void;
  beforeEach(fn: () => unknown): void;
}

/**
 * A real OpenTelemetry SDK for the Jest file that calls it (async context, W3C propagation), with
 * every ended span kept in memory: registered before the file's tests, emptied before each test,
 * shut down after them. Returns the exporter holding the spans. (Only packages the apps already
 * ship are imported here: this library's imports count towards their generated package.json.)
 */
export function useInMemoryTracing(
  hooks: LifecycleHooks = globalThis as unknown as LifecycleHooks,
): tracing.InMemorySpanExporter {
  const exporter = new tracing.InMemorySpanExporter();
  const provider = new tracing.BasicTracerProvider({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)] });
  hooks.beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  });
  hooks.afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });
  hooks.beforeEach(() => exporter.reset());
  return exporter;
}
