import { ArgumentsHost, BadRequestException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import express from 'express';
import { ProblemDetailsFilter, problemTypeUri } from './problem-details.filter';
import { RequestValidationError } from './validation';

// The filter decides what every client sees on failure: status, content type and a stable code.
function render(exception: unknown, request: Record<string, unknown> = { url: '/tasks/1' }) {
  const sent: { status?: number; type?: string; body?: Record<string, unknown>; headers: Record<string, string> } = {
    headers: {},
  };
  const response = {
    status(code: number) {
      sent.status = code;
      return this;
    },
    type(type: string) {
      sent.type = type;
      return this;
    },
    setHeader(name: string, value: string) {
      sent.headers[name] = value;
    },
    send(body: string) {
      sent.body = JSON.parse(body);
    },
  };
  const host = {
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => request }),
  } as unknown as ArgumentsHost;
  new ProblemDetailsFilter().catch(exception, host);
  return sent;
}

class CodedError extends Error {
  constructor(
    readonly code: string,
    readonly kind: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

describe('ProblemDetailsFilter', () => {
  it.each([
    ['validation', 400],
    ['not_found', 404],
    ['conflict', 409],
    ['precondition', 412],
    ['unprocessable', 422],
    ['unavailable', 503],
  ])('maps a coded error of kind %s to %i problem+json with its code and details', (kind, status) => {
    const sent = render(new CodedError('SOME_CODE', kind, 'explained', { taskId: 't-1' }));
    expect(sent.status).toBe(status);
    expect(sent.type).toBe('application/problem+json');
    expect(sent.body).toEqual({
      type: problemTypeUri('SOME_CODE'),
      title: expect.any(String),
      status,
      detail: 'explained',
      code: 'SOME_CODE',
      taskId: 't-1',
      instance: '/tasks/1',
    });
  });

  it('keeps per-field errors of a validation failure', () => {
    const sent = render(new RequestValidationError([{ field: 'title', message: 'title must be a string' }]));
    expect(sent.status).toBe(400);
    expect(sent.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ field: 'title', message: 'title must be a string' }],
    });
  });

  it('names an unknown route', () => {
    expect(render(new NotFoundException('Cannot GET /x')).body).toMatchObject({
      status: 404,
      code: 'ROUTE_NOT_FOUND',
      title: 'Not Found',
    });
  });

  it('maps body-parser failures: too large and malformed JSON', () => {
    expect(
      render(Object.assign(new Error('request entity too large'), { status: 413, type: 'entity.too.large' })).body,
    ).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(render(new BadRequestException('Unexpected token } in JSON at position 3')).body).toMatchObject({
      status: 400,
      code: 'MALFORMED_JSON',
    });
  });

  it('copies headers an error carries (e.g. Retry-After)', () => {
    const error = Object.assign(new CodedError('NOT_YET', 'unavailable', 'try later'), {
      headers: { 'Retry-After': '1' },
    });
    expect(render(error).headers).toEqual({ 'Retry-After': '1' });
  });

  it('keeps which dependency is down on a failed readiness check', () => {
    const sent = render(
      new ServiceUnavailableException({ status: 'error', details: { postgres: { status: 'down' } } }),
    );
    expect(sent.body).toMatchObject({
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      checks: { postgres: { status: 'down' } },
    });
  });

  it('reveals nothing of an unexpected error', () => {
    const sent = render(new TypeError('secret internals at /srv/app.js:12'));
    expect(sent.status).toBe(500);
    expect(sent.body).toMatchObject({ code: 'INTERNAL', detail: 'An unexpected error occurred; it has been logged.' });
    expect(JSON.stringify(sent.body)).not.toContain('secret');
  });

  it('answers a path the router cannot percent-decode with a 400 VALIDATION_FAILED naming the path', () => {
    // what Nest makes of the router's URIError
    const sent = render(new BadRequestException("Failed to decode param '%ED%A0%80'"));
    expect(sent.status).toBe(400);
    expect(sent.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ field: 'path', message: 'must be valid percent-encoded UTF-8' }],
    });
  });

  describe('a request no route took', () => {
    const app = express();
    app.post('/tasks', (_req, res) => res.end());
    app.get('/health/live', (_req, res) => res.end());
    // what Nest's route-not-found handler throws
    const notFound = (method: string, url: string) =>
      render(new NotFoundException(`Cannot ${method} ${url}`), { app, method, url, path: url.split('?')[0] });

    it('is a 405 METHOD_NOT_ALLOWED with Allow when the path has other methods', () => {
      const sent = notFound('TRACE', '/health/live?x=1');
      expect(sent.status).toBe(405);
      expect(sent.type).toBe('application/problem+json');
      expect(sent.headers['Allow']).toBe('GET, HEAD');
      expect(sent.body).toMatchObject({
        status: 405,
        code: 'METHOD_NOT_ALLOWED',
        type: problemTypeUri('METHOD_NOT_ALLOWED'),
      });
      expect(notFound('GET', '/tasks').headers['Allow']).toBe('POST');
    });

    it('stays a 404 ROUTE_NOT_FOUND for a path no route has', () => {
      const sent = notFound('TRACE', '/nowhere');
      expect(sent.status).toBe(404);
      expect(sent.headers['Allow']).toBeUndefined();
      expect(sent.body).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    });
  });
});
