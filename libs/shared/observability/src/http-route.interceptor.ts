import { context } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';

/**
 * Names the HTTP server span after the route Nest matched (`POST /tasks/:id/start`, and
 * `http.route`), which is all the express instrumentation was kept for: the http
 * instrumentation reads the route from the request's RPC metadata when the response ends. Doing
 * it here, once per request, spares wrapping every express layer of every request (the express
 * instrumentation is off by default, see instrumentation.ts). A route already set (the express
 * instrumentation, when enabled) is kept.
 */
@Injectable()
export class HttpRouteInterceptor implements NestInterceptor {
  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (execution.getType() === 'http') {
      const rpc = getRPCMetadata(context.active());
      if (rpc?.type === RPCType.HTTP && rpc.route === undefined) {
        const request = execution.switchToHttp().getRequest<{ route?: { path?: unknown }; baseUrl?: string }>();
        if (typeof request.route?.path === 'string') rpc.route = `${request.baseUrl ?? ''}${request.route.path}`;
      }
    }
    return next.handle();
  }
}
