import { Controller, Get, Header, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process-wide Prometheus registry. Every app exposes it at `/metrics`; libs register their
 * `cqrs_*` instruments on it through the helpers below, so one name is one instrument per process.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

/** Latency buckets in milliseconds: sub-ms cache hits up to multi-second timeouts. */
export const MS_BUCKETS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/** The same range in seconds, for `*_seconds` histograms. */
export const SECONDS_BUCKETS = MS_BUCKETS.map((ms) => ms / 1000);

function getOrCreate<T>(name: string, create: () => T): T {
  return (metricsRegistry.getSingleMetric(name) as T | undefined) ?? create();
}

/** A counter on the shared registry (idempotent: asking twice returns the same instrument). */
export const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
  getOrCreate(name, () => new Counter<L>({ name, help, labelNames, registers: [metricsRegistry] }));

/** A gauge on the shared registry. */
export const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
  getOrCreate(name, () => new Gauge<L>({ name, help, labelNames, registers: [metricsRegistry] }));

/** A histogram on the shared registry; pick MS_BUCKETS or SECONDS_BUCKETS to match the unit in the name. */
export const histogram = <L extends string>(name: string, help: string, buckets: number[], labelNames: L[] = []) =>
  getOrCreate(name, () => new Histogram<L>({ name, help, buckets, labelNames, registers: [metricsRegistry] }));

@ApiExcludeController()
@Controller('metrics')
class MetricsController {
  @Get()
  @Header('Content-Type', metricsRegistry.contentType)
  metrics(): Promise<string> {
    return metricsRegistry.metrics();
  }
}

/** Serves the shared registry at `/metrics` in Prometheus text format. */
@Module({ controllers: [MetricsController] })
export class MetricsModule {}
