import { DynamicModule, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { MetricsModule } from './metrics';

export interface ObservabilityOptions {
  service: string;
  version: string;
  /** Deployment environment name, logged as `env`. @default process.env.NODE_ENV ?? 'development' */
  env?: string;
  /** pino level. @default 'info' */
  logLevel?: string;
  /** Human-readable logs (pino-pretty) instead of JSON lines. @default false */
  prettyLogs?: boolean;
}

/** Flushes the OpenTelemetry SDK started by instrumentation.ts, if it was. */
@Injectable()
class TelemetryShutdown implements OnApplicationShutdown {
  async onApplicationShutdown() {
    await (globalThis as { __cqrsTelemetryShutdown?: () => Promise<void> }).__cqrsTelemetryShutdown?.();
  }
}

/** Structured JSON logs (pino) with the service's identity on every line, and `/metrics`. */
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions): DynamicModule {
    return {
      module: ObservabilityModule,
      global: true,
      imports: [
        MetricsModule,
        LoggerModule.forRoot({
          pinoHttp: {
            level: options.logLevel ?? 'info',
            base: { service: options.service, version: options.version, env: options.env ?? process.env['NODE_ENV'] ?? 'development' },
            messageKey: 'msg',
            // Health probes every few seconds would drown the request log.
            autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
            ...(options.prettyLogs ? { transport: { target: 'pino-pretty' } } : {}),
          },
        }),
      ],
      providers: [TelemetryShutdown],
      exports: [LoggerModule],
    };
  }
}
