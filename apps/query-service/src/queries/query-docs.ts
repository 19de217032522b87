import { ApiProblemResponse as problem, WHITESPACE } from '@cqrs/http';
import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { MAX_REQUIREMENTS, TASK_STREAM_NAMING, type StreamNaming } from '../consistency/min-version';

// The documents describe what the service accepts, so that a client (or a fuzzer) generating
// values from them gets answers, not 400s. ECMA-262 patterns, as OpenAPI specifies.

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

/** Decimal 1 … `max` without leading zeros (no anchors): one alternative per digit that can be lower. */
export function positiveUpTo(max: number): string {
  const digits = String(max);
  const alternatives = digits.length > 1 ? [`[1-9][0-9]{0,${digits.length - 2}}`] : [];
  for (let i = 0; i < digits.length; i++) {
    const low = i === 0 ? 1 : 0;
    const digit = Number(digits[i]);
    if (digit > low) alternatives.push(`${digits.slice(0, i)}[${low}-${digit - 1}][0-9]{${digits.length - i - 1}}`);
  }
  return `(?:${[...alternatives, digits].join('|')})`;
}
/** A version: a positive safe integer, as parseMinVersion reads it. */
const VERSION = positiveUpTo(Number.MAX_SAFE_INTEGER);
// `trim()`'s whitespace, spelled out: `\s` means other sets in other regex engines.
const requirementList = (item: string) => {
  const ws = `[${WHITESPACE}]*`;
  return `^${ws}(?:${item}(?:${ws},${ws}${item}){0,${MAX_REQUIREMENTS - 1}}${ws})?$`;
};
/** `minVersion` / `X-Min-Version` on a route about one aggregate, where a bare version means it. */
export const STREAM_MIN_VERSION_PATTERN = requirementList(`(?:${UUID}:)?${VERSION}`);
/** `minVersion` / `X-Min-Version` on other routes: every requirement names its stream. */
export const MIN_VERSION_PATTERN = requirementList(`${UUID}:${VERSION}`);

/** How `minVersion` works, for its description; a route adds how to name the stream. */
export const MIN_VERSION_DOC =
  'Read-your-writes: the version from a command response. The query waits (bounded) until the read model reflects it, ' +
  `else answers 503 READ_MODEL_BEHIND with Retry-After. Same syntax as the X-Min-Version header; at most ${MAX_REQUIREMENTS} ` +
  'requirements, versions up to 2^53 - 1.';

/**
 * The `minVersion` query parameter of a query DTO: optional, at most 2,000 characters (as long as
 * a full list of requirements), documented with its pattern.
 */
export const MinVersionQuery = ({
  description,
  example,
  pattern,
}: {
  description: string;
  example?: string;
  pattern: string;
}) =>
  applyDecorators(
    ApiPropertyOptional({ description, example, maxLength: 2_000, pattern }),
    IsOptional(),
    IsString(),
    MaxLength(2_000),
  );

/** Documents the `X-Min-Version` header of a route with `pattern` (one of the patterns above). */
export const ApiMinVersionHeader = (pattern: string, naming: StreamNaming = TASK_STREAM_NAMING) =>
  ApiHeader({
    name: 'X-Min-Version',
    required: false,
    description: `Read-your-writes: \`<version>\` (on ${naming.itemRoute}) or \`<${naming.idField}>:<version>[,...]\`; waits until the read model reflects it.`,
    schema: { type: 'string', pattern },
  });

/** What every query route may answer besides its own: 304, 400 for any bad parameter, 503 when the read side cannot answer in time. */
export const ApiQueryResponses = () =>
  applyDecorators(
    ApiResponse({ status: 304, description: 'Not modified: If-None-Match matched the ETag.' }),
    problem(400, 'A path, query or header parameter is invalid (VALIDATION_FAILED, INVALID_CURSOR); `errors` names it'),
    problem(
      503,
      'The read model did not reach X-Min-Version in time (READ_MODEL_BEHIND), or the read database did not answer in time (READ_MODEL_UNAVAILABLE)',
      { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } } },
    ),
  );
