import { z } from 'zod';

/** What `POST /token` signs, defaults applied. */
export interface TokenRequest {
  sub: string;
  roles: string[];
  aud: string;
  /** Seconds from now to `exp`; negative gives an already expired token. */
  expiresIn: number;
  /** Seconds from now to `nbf`; no `nbf` claim when absent. */
  notBefore?: number;
}

export const DEFAULT_AUDIENCE = 'cqrs-api';
export const DEFAULT_EXPIRES_IN = 3600;
export const MAX_ROLES = 20;
/** Longest identifier, in code points: the apps' limit for a token's `sub`. */
export const MAX_IDENTIFIER_LENGTH = 200;
/** One day either way bounds every time offset, so no claim ever overflows or lands in another era. */
export const MAX_OFFSET_S = 86_400;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;

/**
 * The apps' rule for a token's `sub` (`identifierProblem` in libs/shared/util), restated here
 * because Node runs this tool without the workspace's path aliases; token-request.spec.ts checks
 * that both agree, so the issuer never signs a subject the apps would refuse.
 */
export function identifierProblem(value: string): string | null {
  if (value.trim() === '' || value !== value.trim()) return 'must be non-blank, without leading or trailing whitespace';
  if (LONE_SURROGATE.test(value)) return 'must be well-formed Unicode (it holds a lone surrogate)';
  if (CONTROL.test(value)) return 'must not contain control characters (U+0000-U+001F, U+007F-U+009F)';
  if ([...value].length > MAX_IDENTIFIER_LENGTH)
    return `must be at most ${MAX_IDENTIFIER_LENGTH} characters (code points)`;
  return null;
}

const identifier = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
  .superRefine((value, ctx) => {
    const problem = identifierProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const offset = z
  .number({ error: 'must be a number of seconds' })
  .int('must be a whole number of seconds')
  .min(-MAX_OFFSET_S, `must be at least -${MAX_OFFSET_S} seconds`)
  .max(MAX_OFFSET_S, `must be at most ${MAX_OFFSET_S} seconds`);

// Strict: a misspelt field (`role`, `audience`) is refused rather than silently ignored, which
// would sign a token without the roles or audience its caller meant.
const schema = z.strictObject(
  {
    sub: identifier,
    roles: z
      .array(identifier, { error: 'must be an array of strings' })
      .max(MAX_ROLES, `must hold at most ${MAX_ROLES} roles`)
      .optional(),
    aud: identifier.optional(),
    expiresIn: offset.optional(),
    notBefore: offset.optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : 'must be a JSON object',
  },
);

export type ParsedTokenRequest = { ok: true; request: TokenRequest } | { ok: false; problem: string };

/**
 * Validates a parsed `POST /token` body. The problem names every offending field and why
 * (`roles.2: must not contain control characters ...`), for the `error_description`.
 */
export function parseTokenRequest(body: unknown): ParsedTokenRequest {
  const result = schema.safeParse(body);
  if (!result.success) {
    const problem = result.error.issues
      .map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
      .join('; ');
    return { ok: false, problem };
  }
  const { sub, roles = [], aud = DEFAULT_AUDIENCE, expiresIn = DEFAULT_EXPIRES_IN, notBefore } = result.data;
  return { ok: true, request: { sub, roles, aud, expiresIn, ...(notBefore === undefined ? {} : { notBefore }) } };
}
