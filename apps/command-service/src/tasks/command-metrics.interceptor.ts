import { counter, histogram, MS_BUCKETS } from '@cqrs/observability';
import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PinoLogger } from 'nestjs-pino';
import { Observable, tap } from 'rxjs';

const COMMAND_TYPE = 'cqrs:command-type';
/** Names the command a route dispatches, for logs, metrics and (later) spans. */
export const CommandType = (type: string) => SetMetadata(COMMAND_TYPE, type);

const commandsTotal = counter('cqrs_command_total', 'Commands handled, by type and outcome.', ['type', 'status']);
const commandDuration = histogram('cqrs_command_duration_ms', 'Command handling time in milliseconds.', MS_BUCKETS, ['type']);

/**
 * The command pipeline's cross-cutting layer: one log line and one timing per command, with
 * the outcome (`ok`, `replayed`, or the error code), whatever the route.
 */
@Injectable()
export class CommandMetricsInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('CommandBus');
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const type = this.reflector.get<string>(COMMAND_TYPE, context.getHandler()) ?? 'unknown';
    const started = performance.now();
    const done = (status: string, error?: unknown) => {
      const duration = performance.now() - started;
      commandsTotal.inc({ type, status });
      commandDuration.observe({ type }, duration);
      const fields = { bus: 'command', type, handler: context.getClass().name, duration_ms: Math.round(duration * 100) / 100 };
      if (error) this.logger.warn({ ...fields, error_code: status }, `${type} rejected`);
      else this.logger.info(fields, `${type} ${status}`);
    };
    return next.handle().pipe(
      tap({
        next: (result) => done((result as { replayed?: boolean } | undefined)?.replayed ? 'replayed' : 'ok'),
        error: (error: unknown) => done((error as { code?: string }).code ?? 'INTERNAL', error),
      }),
    );
  }
}
