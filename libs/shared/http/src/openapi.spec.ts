import type { OpenAPIObject } from '@nestjs/swagger';
import { completeDocument, PROBLEM_JSON } from './openapi';

// What every document must say whatever its controllers declared: what the global pipe, the
// problem+json filter and the HTTP server do for every route.
const document = (): OpenAPIObject => ({
  openapi: '3.0.0',
  info: { title: 't', version: '1' },
  paths: {
    '/things': {
      post: {
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/ThingDto' } } } },
        responses: {
          '201': { description: 'made', content: { 'application/json': { schema: { type: 'object' } } } },
          '400': { description: 'bad', content: { 'application/json': { schema: { type: 'object' } } } },
          '409': {
            description: 'own',
            content: { [PROBLEM_JSON]: { schema: { $ref: '#/components/schemas/Special' } } },
          },
        },
      },
      patch: {
        requestBody: {
          content: {
            'application/json': { schema: { allOf: [{ $ref: '#/components/schemas/PatchDto' }], minProperties: 1 } },
          },
        },
        responses: { '200': { description: 'ok' } },
      },
    },
    '/health/ready': {
      get: {
        responses: {
          '200': { description: 'up' },
          '503': { description: 'down', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
  },
  components: {
    schemas: {
      ThingDto: { type: 'object', properties: { name: { type: 'string' } } },
      PatchDto: { type: 'object', properties: { name: { type: 'string' } } },
      Open: { type: 'object', properties: { any: { type: 'string' } } },
    },
  },
});

describe('completeDocument', () => {
  const done = completeDocument(document());
  const schemas = done.components?.schemas as Record<string, Record<string, unknown>>;
  const responses = (path: string, method: 'get' | 'post' | 'patch') =>
    (done.paths[path]?.[method]?.responses ?? {}) as Record<string, { content?: Record<string, unknown> }>;

  it('makes every request body refuse unknown fields, through $ref and allOf, and leaves other schemas open', () => {
    expect(schemas['ThingDto']?.['additionalProperties']).toBe(false);
    expect(schemas['PatchDto']?.['additionalProperties']).toBe(false);
    expect(schemas['Open']?.['additionalProperties']).toBeUndefined();
  });

  it('declares every error answer as problem+json, keeping a problem schema a route chose, and leaves successes alone', () => {
    expect(responses('/things', 'post')['400']?.content).toEqual({
      [PROBLEM_JSON]: { schema: { $ref: '#/components/schemas/ProblemDto' } },
    });
    expect(responses('/things', 'post')['409']?.content).toEqual({
      [PROBLEM_JSON]: { schema: { $ref: '#/components/schemas/Special' } },
    });
    expect(responses('/health/ready', 'get')['503']?.content).toEqual({
      [PROBLEM_JSON]: { schema: { $ref: '#/components/schemas/ProblemDto' } },
    });
    expect(Object.keys(responses('/things', 'post')['201']?.content ?? {})).toEqual(['application/json']);
  });

  it('declares 431 on every operation', () => {
    for (const [path, method] of [
      ['/things', 'post'],
      ['/things', 'patch'],
      ['/health/ready', 'get'],
    ] as const) {
      expect(Object.keys(responses(path, method)['431']?.content ?? {})).toEqual([PROBLEM_JSON]);
    }
  });
});
