import { classifyRegistryCallError, classifySchemaFetchError } from './registry-errors';

// Shaped like the client's ResponseError; the int tests produce the real ones.
const responseError = (status: number, message: string) =>
  Object.assign(new Error(message), { name: 'ResponseError', status });

describe('registry error classification', () => {
  it('treats a registry "no such schema" answer as poison: UNKNOWN_SCHEMA_ID', () => {
    const error = classifySchemaFetchError(responseError(404, "cqrs-serde - No content with ID '99' was found."), 99);
    expect(error).toMatchObject({ code: 'UNKNOWN_SCHEMA_ID', retriable: false, schemaId: 99 });
    expect(error.message).toBe("unknown schema id 99: No content with ID '99' was found.");
  });

  it.each([
    [
      'a refused connection (mappersmith reports status 400)',
      responseError(400, 'cqrs-serde - Error, status 400: connect ECONNREFUSED 127.0.0.1:1'),
    ],
    [
      'a 404 from something that is not the registry API',
      responseError(404, 'cqrs-serde - Error, status 404: [object Object]'),
    ],
    ['a server error', responseError(503, 'cqrs-serde - Service Unavailable')],
    ['bad credentials', responseError(401, 'cqrs-serde - Unauthorized')],
  ])('treats %s as retriable: REGISTRY_UNAVAILABLE', (_, raw) => {
    expect(classifySchemaFetchError(raw, 7)).toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retriable: true,
      schemaId: 7,
    });
  });

  it('leaves lookup answers that are not outages to the caller', () => {
    expect(
      classifyRegistryCallError(Object.assign(new Error('Schema not found'), { name: 'ConfluentSchemaRegistryError' })),
    ).toBeUndefined();
    expect(classifyRegistryCallError(responseError(422, 'cqrs-serde - Invalid schema'))).toBeUndefined();
    expect(
      classifyRegistryCallError(responseError(400, 'cqrs-serde - Error, status 400: connect ECONNREFUSED 127.0.0.1:1')),
    ).toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      message: 'schema registry unavailable: connect ECONNREFUSED 127.0.0.1:1',
    });
  });
});
