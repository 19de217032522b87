import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { RPCType, setRPCMetadata, type RPCMetadata } from '@opentelemetry/core';
import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { of } from 'rxjs';
import { HttpRouteInterceptor } from './http-route.interceptor';

// The interceptor against the context the http instrumentation sets up for a request: RPC
// metadata in the active context, read back when the response ends.
beforeAll(() => void context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
afterAll(() => context.disable());

const execution = (type: string, request: object) =>
  ({ getType: () => type, switchToHttp: () => ({ getRequest: () => request }) }) as unknown as ExecutionContext;
const next: CallHandler = { handle: () => of('handled') };

function intercept(type: string, request: object, rpc?: RPCMetadata): RPCMetadata | undefined {
  const ctx = rpc ? setRPCMetadata(ROOT_CONTEXT, rpc) : ROOT_CONTEXT;
  context.with(ctx, () => new HttpRouteInterceptor().intercept(execution(type, request), next));
  return rpc;
}

describe('HttpRouteInterceptor', () => {
  it("sets the matched route (with the router's base path) for the request span's name", () => {
    const rpc = intercept(
      'http',
      { route: { path: '/tasks/:id/start' }, baseUrl: '' },
      { type: RPCType.HTTP, span: undefined as never },
    );
    expect(rpc?.route).toBe('/tasks/:id/start');
    expect(
      intercept(
        'http',
        { route: { path: '/:id' }, baseUrl: '/tasks' },
        { type: RPCType.HTTP, span: undefined as never },
      )?.route,
    ).toBe('/tasks/:id');
  });

  it('keeps a route already set, and leaves requests without a matched route alone', () => {
    expect(
      intercept(
        'http',
        { route: { path: '/tasks' } },
        { type: RPCType.HTTP, route: '/set/by/express', span: undefined as never },
      )?.route,
    ).toBe('/set/by/express');
    expect(intercept('http', {}, { type: RPCType.HTTP, span: undefined as never })?.route).toBeUndefined();
  });

  it('does nothing without tracing (no RPC metadata) or outside HTTP', () => {
    expect(() => intercept('http', { route: { path: '/tasks' } })).not.toThrow();
    expect(
      intercept('rpc', { route: { path: '/tasks' } }, { type: RPCType.HTTP, span: undefined as never })?.route,
    ).toBeUndefined();
  });
});
