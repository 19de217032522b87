export { ObservabilityModule } from './observability.module';
export { HttpRouteInterceptor } from './http-route.interceptor';
export type { ObservabilityOptions } from './observability.module';
export { MetricsModule, metricsRegistry, counter, gauge, histogram, MS_BUCKETS, SECONDS_BUCKETS } from './metrics';
export {
  currentTraceCarrier,
  contextFromCarrier,
  linkFromCarrier,
  withSpan,
  startSpan,
  withActiveSpan,
  withoutTracing,
  recordError,
  activeTraceIds,
} from './tracing';
export type { TraceCarrier, SpanOptions } from './tracing';
export { SpanKind, SpanStatusCode } from '@opentelemetry/api';
export type { Span, Link } from '@opentelemetry/api';
export { CQRS_METRICS, cqrsMetric } from './cqrs-metrics';
export type { CqrsMetricName } from './cqrs-metrics';
export { serviceIdentity } from './service-identity';
