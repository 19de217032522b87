import { applyDecorators, Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiExtraModels, ApiParam, ApiProperty, ApiResponse, getSchemaPath, type OpenAPIObject } from '@nestjs/swagger';
import { isManagementPath } from './auth/management-paths';
import { RequestValidationError } from './validation';

/** The media type of every error this project answers (RFC 9457). */
export const PROBLEM_JSON = 'application/problem+json';

/** An RFC 9457 problem, as every error is answered; the one schema both services document. */
export class ProblemDto {
  @ApiProperty({ example: 'https://cqrs-starter.dev/problems/validation-failed' }) type!: string;
  @ApiProperty({ example: 'Bad Request' }) title!: string;
  @ApiProperty({ example: 400 }) status!: number;
  @ApiProperty() detail!: string;
  @ApiProperty({ example: 'VALIDATION_FAILED', description: 'Stable, machine-readable; `type` is derived from it.' })
  code!: string;
  @ApiProperty({ required: false, description: 'The request target.' }) instance?: string;
  @ApiProperty({
    required: false,
    type: 'array',
    items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
  })
  errors?: { field: string; message: string }[];
}

/** The name of the bearer security scheme in the documents. */
export const BEARER_SCHEME = 'bearer';

const problemContent = () => ({ [PROBLEM_JSON]: { schema: { $ref: getSchemaPath(ProblemDto) } } });

type ResponseHeaders = Record<string, { description: string; schema: Record<string, unknown> }>;

/** Declares an error answer of a route: `status`, as `application/problem+json` with {@link ProblemDto}. */
export const ApiProblemResponse = (status: number, description: string, headers?: ResponseHeaders) =>
  applyDecorators(ApiExtraModels(ProblemDto), ApiResponse({ status, description, headers, content: problemContent() }));

/** A UUID in any version, exactly what `ParseUUIDPipe` accepts, as an ECMA-262 pattern. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/** A path parameter that must be a UUID: 400 VALIDATION_FAILED naming it otherwise. Pair with {@link ApiUuidParam}. */
export const UuidParam = (name: string) =>
  Param(
    name,
    new ParseUUIDPipe({
      exceptionFactory: () => new RequestValidationError([{ field: name, message: 'must be a UUID' }]),
    }),
  );

/**
 * Documents a UUID path parameter with its pattern: `format: uuid` alone lets a generator (or a
 * client) think `<uuid>:1` is fine.
 */
export const ApiUuidParam = (name: string, description: string) =>
  ApiParam({ name, description, schema: { type: 'string', format: 'uuid', pattern: UUID_PATTERN } });

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What every document states whatever its controllers declare, applied once to the generated
 * document:
 * - request bodies refuse unknown fields (`additionalProperties: false`), as the global
 *   ValidationPipe does (`forbidNonWhitelisted`);
 * - every error answer (4xx, 5xx) is `application/problem+json` with {@link ProblemDto}, as the
 *   ProblemDetailsFilter sends it, also on routes whose decorators said `application/json`
 *   (terminus' `/health/ready` 503, for one);
 * - every operation may answer 431 when its request line and headers are over the server's
 *   `maxHeaderSize` (answered by the HTTP server, before any route);
 * - with `bearerAuth`, every API operation (not health or metrics) requires the bearer scheme and
 *   may answer 401 (no or a bad token) and 429 (the caller's rate limit).
 */
export function completeDocument(document: OpenAPIObject, options: { bearerAuth?: boolean } = {}): OpenAPIObject {
  const schemas = (document.components?.schemas ?? {}) as Record<string, Json>;
  const strict = (schema: unknown): void => {
    if (!isObject(schema)) return;
    const ref = schema['$ref'];
    if (typeof ref === 'string') return strict(schemas[ref.replace('#/components/schemas/', '')]);
    if (Array.isArray(schema['allOf'])) return schema['allOf'].forEach(strict);
    if (
      (schema['type'] === 'object' || isObject(schema['properties'])) &&
      schema['additionalProperties'] === undefined
    ) {
      schema['additionalProperties'] = false;
    }
  };
  for (const [path, pathItem] of Object.entries(document.paths)) {
    for (const operation of Object.values(pathItem as Json)) {
      if (!isObject(operation) || !isObject(operation['responses'])) continue;
      if (options.bearerAuth && !isManagementPath(path)) authenticated(operation, operation['responses']);
      const body = operation['requestBody'];
      if (isObject(body) && isObject(body['content'])) {
        for (const media of Object.values(body['content'])) if (isObject(media)) strict(media['schema']);
      }
      for (const [status, response] of Object.entries(operation['responses'])) {
        if (!isObject(response) || !(Number(status) >= 400)) continue;
        const content = isObject(response['content']) ? response['content'] : {};
        response['content'] = {
          [PROBLEM_JSON]: isObject(content[PROBLEM_JSON]) ? content[PROBLEM_JSON] : problemContent()[PROBLEM_JSON],
        };
      }
      operation['responses']['431'] ??= {
        description: `Request line and headers over the server's limit (REQUEST_HEADER_FIELDS_TOO_LARGE); the connection is closed`,
        content: problemContent(),
      };
    }
  }
  return document;
}

function authenticated(operation: Json, responses: Json): void {
  operation['security'] ??= [{ [BEARER_SCHEME]: [] }];
  responses['401'] ??= {
    description:
      'No bearer token (AUTHENTICATION_REQUIRED), or one that is expired, badly signed, or not for this API (INVALID_TOKEN); WWW-Authenticate says which',
    headers: {
      'WWW-Authenticate': {
        description: 'RFC 6750 challenge: `Bearer realm="api"`, with `error="invalid_token"` for a refused token.',
        schema: { type: 'string' },
      },
    },
    content: problemContent(),
  };
  responses['429'] ??= {
    description: 'The caller is over its rate limit (RATE_LIMITED); retry after Retry-After',
    headers: {
      'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
    },
    content: problemContent(),
  };
  responses['503'] ??= {
    description: 'The token issuer’s keys cannot be fetched now (AUTH_UNAVAILABLE); retry after Retry-After',
    headers: {
      'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
    },
    content: problemContent(),
  };
}
