/**
 * OpenTelemetry for every app, loaded before anything else with `node --import ./instrumentation.js main.js`.
 * Configured only by the standard OTEL_* environment variables: OTLP over
 * HTTP/protobuf to OTEL_EXPORTER_OTLP_ENDPOINT by default, OTEL_SDK_DISABLED=true turns it off,
 * OTEL_SERVICE_NAME defaults to the app's name (its package.json). Metrics stay with prom-client (/metrics)
 * and logs with pino (stdout), so their OTLP exporters default to none. With every exporter set to
 * none (OTEL_TRACES_EXPORTER=none) the SDK is not started at all: its instrumentations would still
 * wrap every request and statement and record spans nobody exports (a third of the command
 * service's throughput, bench/results/commands.json). Incoming W3C trace context is then passed on
 * as it came (see the command service's executor).
 */
import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { serviceIdentity } from './service-identity';

const env = process.env;
const identity = serviceIdentity();
const service = env['OTEL_SERVICE_NAME'] ?? identity.name;
env['OTEL_SERVICE_NAME'] = service;
// service.version unless the operator set resource attributes of their own
env['OTEL_RESOURCE_ATTRIBUTES'] ??= `service.version=${identity.version}`;
env['OTEL_METRICS_EXPORTER'] ??= 'none';
env['OTEL_LOGS_EXPORTER'] ??= 'none';

// Off by default, each for a reason (OTEL_NODE_DISABLED_INSTRUMENTATIONS replaces the list):
// - nestjs-core: its controller/handler spans repeat the `command.<Type>` and `query.<Type>` spans
//   the apps start themselves; spans are what tracing costs (bench/tracing.bench.ts);
// - express: it was only there to name the request span after its route, and it wraps every layer
//   of every request to do so; ObservabilityModule's HttpRouteInterceptor names it once per request;
// - kafkajs in the relay: the relay forwards each outbox row's trace headers verbatim, exactly as
//   Debezium does, and the producer-side instrumentation would overwrite `traceparent`;
// - kafkajs in the projector: its per-message consumer spans repeat the `event.<Type>` spans the
//   projector starts from the same headers.
const defaultDisabled = [
  'nestjs-core',
  'express',
  ...(service === 'outbox-relay' || service === 'projector' ? ['kafkajs'] : []),
].join(',');
const disabled = new Set(
  (env['OTEL_NODE_DISABLED_INSTRUMENTATIONS'] ?? defaultDisabled)
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean),
);

const instrumentations: [string, () => Instrumentation][] = [
  [
    'http',
    () => new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => /^\/(health|metrics)/.test(req.url ?? '') }),
  ],
  // Only to name the request span after its route (`POST /tasks`): express sets the route before
  // it skips an ignored layer. A span per middleware and handler layer would repeat NestJS's own
  // spans, and spans are what tracing costs (bench/tracing.bench.ts).
  [
    'express',
    () =>
      new ExpressInstrumentation({
        ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.REQUEST_HANDLER, ExpressLayerType.ROUTER],
      }),
  ],
  ['nestjs-core', () => new NestInstrumentation()],
  // Statements only: a pool checkout per statement is noise in every trace. Statements sent as
  // text with their values inline (the projector's two-round-trip batches) would put the data
  // itself (titles, owners) into every trace: their literals become `?`, as the semantic
  // conventions ask of db.query.text.
  [
    'pg',
    () =>
      new PgInstrumentation({
        requireParentSpan: true,
        ignoreConnectSpans: true,
        requestHook: (span, { query }) => {
          if (query.text.includes("'")) span.setAttribute('db.query.text', withoutLiterals(query.text));
        },
      }),
  ],
  ['kafkajs', () => new KafkaJsInstrumentation()],
  // puts trace_id / span_id of the active span on every log line
  ['pino', () => new PinoInstrumentation()],
];

/** SQL with every string literal ('…', E'…', quotes doubled inside) replaced by `?`. */
function withoutLiterals(sql: string): string {
  return sql.replace(/\bE'(?:[^']|'')*'|'(?:[^']|'')*'/g, '?');
}

const exportsNothing = ['OTEL_TRACES_EXPORTER', 'OTEL_METRICS_EXPORTER', 'OTEL_LOGS_EXPORTER'].every((name) =>
  (env[name] ?? '').split(',').every((exporter) => exporter.trim() === 'none'),
);

if (env['OTEL_SDK_DISABLED'] !== 'true' && !exportsNothing) {
  const sdk = new NodeSDK({
    instrumentations: instrumentations.filter(([name]) => !disabled.has(name)).map(([, create]) => create()),
  });
  sdk.start();
  // ObservabilityModule calls this on application shutdown, so the last spans are flushed.
  (globalThis as { __cqrsTelemetryShutdown?: () => Promise<void> }).__cqrsTelemetryShutdown = () => sdk.shutdown();
}
