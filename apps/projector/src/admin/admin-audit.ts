import type { Principal } from '@cqrs/http';
import { DomainError } from '@cqrs/util';
import { Injectable, Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { tap, type Observable } from 'rxjs';

interface AuditedRequest {
  method: string;
  url: string;
  route?: { path?: string };
  params?: Record<string, string>;
  principal?: Principal;
}

/** One audit line: who asked the admin API to change what, and how it ended. */
export interface AdminAuditEntry {
  audit: 'admin';
  /** The token's subject. */
  subject: string | null;
  /** Method and route, e.g. `POST /admin/cqrs/dead-letters/:id/redrive`. */
  action: string;
  params: Record<string, string>;
  /** `ok`, or the error's stable code (`DEAD_LETTER_NOT_HEAD`, …) or name. */
  outcome: string;
}

/**
 * Logs every admin request that changes something (anything but GET and HEAD) once it ended, with
 * the caller's subject: pausing, redriving, discarding and rebuilding leave a trail in the logs
 * (at `info`, and `warn` when refused or failed), whatever the outcome.
 */
@Injectable()
export class AdminAuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger('AdminAudit');

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<AuditedRequest>();
    if (request.method === 'GET' || request.method === 'HEAD') return next.handle();
    const entry = (outcome: string): AdminAuditEntry => ({
      audit: 'admin',
      subject: request.principal?.subject ?? null,
      action: `${request.method} ${request.route?.path ?? request.url.split('?')[0]}`,
      params: { ...request.params },
      outcome,
    });
    return next.handle().pipe(
      tap({
        next: () => this.logger.log(entry('ok'), 'admin action'),
        error: (error: unknown) =>
          this.logger.warn(
            entry(error instanceof DomainError ? error.code : error instanceof Error ? error.name : 'error'),
            'admin action refused or failed',
          ),
      }),
    );
  }
}
