import { problemOf } from '@cqrs/http';
import { cqrsMetric } from '@cqrs/observability';
import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PinoLogger } from 'nestjs-pino';
import { Observable, tap } from 'rxjs';

const COMMAND_TYPE = 'cqrs:command-type';
/** Names the command a route dispatches, for logs, metrics and (later) spans. */
export const CommandType = (type: string) => SetMetadata(COMMAND_TYPE, type);

const commandsTotal = cqrsMetric('cqrs_command_total');
const commandDuration = cqrsMetric('cqrs_command_duration_ms');

/**
 * The command pipeline's cross-cutting layer: one log line and one timing per command, whatever
 * the route. `status` is `ok`, `replayed`, the code of a rejection the client caused (4xx, e.g.
 * `INVALID_TRANSITION`), or `error` for a failure of ours (5xx): the alert on the error rate
 * counts only those, and the log line and the span keep the code.
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
    const done = (status: string) => {
      const duration = performance.now() - started;
      commandsTotal.inc({ type, status });
      commandDuration.observe({ type }, duration);
      return { bus: 'command', type, handler: context.getClass().name, duration_ms: Math.round(duration * 100) / 100 };
    };
    return next.handle().pipe(
      tap({
        next: (result) => {
          const status = (result as { replayed?: boolean } | undefined)?.replayed ? 'replayed' : 'ok';
          this.logger.info(done(status), `${type} ${status}`);
        },
        error: (error: unknown) => {
          const problem = problemOf(error);
          const failed = problem.status >= 500;
          const fields = { ...done(failed ? 'error' : problem.code), error_code: problem.code };
          // The problem filter logs the stack of a 500; this line adds the command's fields.
          if (failed) this.logger.error(fields, `${type} failed`);
          else this.logger.warn(fields, `${type} rejected`);
        },
      }),
    );
  }
}
