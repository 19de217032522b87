import { ReadModelUnavailableError } from '@cqrs/tasks-read-model';
import { DomainError } from '@cqrs/util';
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { catchError, type Observable } from 'rxjs';

/** A dependency that cannot answer now, answered 503 with Retry-After instead of a 500. */
export class DependencyUnavailableError extends DomainError {
  readonly headers = { 'Retry-After': '5' };

  constructor(code: 'DATABASE_UNAVAILABLE' | 'KAFKA_UNAVAILABLE', message: string, cause: unknown) {
    super(code, 'unavailable', message, { cause });
    this.name = 'DependencyUnavailableError';
  }
}

/**
 * What an admin operation's failure means to its caller: a database that is unreachable, overloaded
 * or shutting down (the read database, the event store) and Kafka's client errors are 503s; every
 * other error is passed on as it is (coded errors keep their status, the rest is a 500).
 */
export function toAdminError(error: unknown): unknown {
  if (error instanceof DomainError) return error;
  if (ReadModelUnavailableError.matches(error))
    return new DependencyUnavailableError(
      'DATABASE_UNAVAILABLE',
      'A database cannot answer right now; retry shortly',
      error,
    );
  if (error instanceof Error && error.name.startsWith('KafkaJS'))
    return new DependencyUnavailableError(
      'KAFKA_UNAVAILABLE',
      `Kafka cannot answer right now: ${error.message}`,
      error,
    );
  return error;
}

/** Applies {@link toAdminError} to what a route throws. */
@Injectable()
export class AdminErrorsInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => {
        throw toAdminError(error);
      }),
    );
  }
}
