export { ObservabilityModule } from './observability.module';
export type { ObservabilityOptions } from './observability.module';
export { MetricsModule, metricsRegistry, counter, gauge, histogram, MS_BUCKETS, SECONDS_BUCKETS } from './metrics';
export { currentTraceCarrier, contextFromCarrier, linkFromCarrier, withSpan, recordError, activeTraceIds } from './tracing';
export type { TraceCarrier } from './tracing';
export { serviceIdentity } from './service-identity';
