import { DynamicModule, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { HttpRouteInterceptor } from './http-route.interceptor';
import { MetricsModule } from './metrics';
import { serviceIdentity } from './service-identity';

export interface ObservabilityOptions {
  /** Logged as `service`. @default the name in the package.json beside main.js ({@link serviceIdentity}) */
  service?: string;
  /** Logged as `version`. @default the version in the package.json beside main.js */
  version?: string;
  /** Deployment environment name, logged as `env`. @default process.env.NODE_ENV ?? 'development' */
  env?: string;
  /** pino level. @default 'info' */
  logLevel?: string;
  /** Human-readable logs (pino-pretty) instead of JSON lines. @default false */
  prettyLogs?: boolean;
}

const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];

/**
 * A serialized request or response (pino's standard serializers ran first) with its credential
 * headers replaced by `[redacted]`; the live headers are left alone.
 */
export function withoutCredentials<T extends { headers?: Record<string, unknown> }>(message: T): T {
  const headers = message.headers;
  if (!headers || !CREDENTIAL_HEADERS.some((name) => name in headers)) return message;
  const redacted: Record<string, unknown> = { ...headers };
  for (const name of CREDENTIAL_HEADERS) if (name in redacted) redacted[name] = '[redacted]';
  return { ...message, headers: redacted };
}

/** Flushes the OpenTelemetry SDK started by instrumentation.ts, if it was. */
@Injectable()
class TelemetryShutdown implements OnApplicationShutdown {
  async onApplicationShutdown() {
    await (globalThis as { __cqrsTelemetryShutdown?: () => Promise<void> }).__cqrsTelemetryShutdown?.();
  }
}

/**
 * Structured JSON logs (pino) and `/metrics`. Every line carries `service`, `version`, `env`, a
 * level name, and, when a span is active, its `trace_id` and `span_id` (added by the pino
 * instrumentation that instrumentation.ts starts). Call sites add the fields docs/observability.md lists:
 * `bus, type, handler, cache_key, cache_hit, retries, duration_ms, error_code`.
 */
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions = {}): DynamicModule {
    const identity = serviceIdentity(options.service);
    return {
      module: ObservabilityModule,
      global: true,
      imports: [
        MetricsModule,
        LoggerModule.forRoot({
          pinoHttp: {
            level: options.logLevel ?? 'info',
            base: {
              service: options.service ?? identity.name,
              version: options.version ?? identity.version,
              env: options.env ?? process.env['NODE_ENV'] ?? 'development',
            },
            messageKey: 'msg',
            // Credentials never reach a log line: bearer tokens are replayable until they expire.
            // In the serializers (which see the headers once) rather than pino's `redact`, which
            // deep-copies every request's bindings: 5% of the command service's CPU.
            serializers: { req: withoutCredentials, res: withoutCredentials },
            // Health probes every few seconds would drown the request log.
            autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
            ...(options.prettyLogs
              ? { transport: { target: 'pino-pretty' } }
              : // "level":"warn" rather than 40: what log backends (Loki, OpenObserve, Elastic) index on.
                { formatters: { level: (label: string) => ({ level: label }) } }),
          },
        }),
      ],
      // Names each HTTP server span after its route (what the express instrumentation did).
      providers: [TelemetryShutdown, { provide: APP_INTERCEPTOR, useClass: HttpRouteInterceptor }],
      exports: [LoggerModule],
    };
  }
}
