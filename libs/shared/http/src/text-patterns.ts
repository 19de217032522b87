// The text rules of @cqrs/util (text-rules.ts) as ECMA-262 patterns for OpenAPI documents, so that a
// client (or a fuzzer) generating values from a document gets answers, not 400s. Character classes
// are spelled out instead of `\s` and `\d`, whose meaning differs between regex engines (Python's
// `\s` holds U+001C and U+0085, none holds U+FEFF, which JavaScript's `trim()` removes).

/** What `String.prototype.trim()` removes (ECMAScript WhiteSpace and LineTerminator), for a character class. */
export const WHITESPACE = String.raw`\t\n\u000B\f\r \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF`;
// Control characters (Unicode Cc). A lone surrogate (`"\ud800"` in JSON), also refused, is left out:
// validators that work on Unicode scalar values (jsonschema-rs) cannot compile a surrogate range.
const CONTROL = String.raw`\u0000-\u001F\u007F-\u009F`;
const MULTILINE_CONTROL = String.raw`\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F`;

/** `identifierProblem`: no surrounding whitespace, no control characters (lengths go in the schema). */
export const IDENTIFIER_PATTERN = `^[^${WHITESPACE}${CONTROL}](?:[^${CONTROL}]*[^${WHITESPACE}${CONTROL}])?$`;
/**
 * A required single-line text that is trimmed (title, reason): something not blank, no control
 * characters inside, at most `maxLength` characters once trimmed. The length is in the pattern, not
 * in `maxLength`, which would count the whitespace the service trims away.
 */
export const lineTextPattern = (maxLength: number) =>
  `^[${WHITESPACE}]*[^${WHITESPACE}${CONTROL}](?:[^${CONTROL}]{0,${maxLength - 2}}[^${WHITESPACE}${CONTROL}])?[${WHITESPACE}]*$`;
/**
 * An optional multi-line text (description): blank (means none, whatever its length), or at most
 * `maxLength` characters without control characters but tab, LF and CR. The length is in the
 * pattern because a blank text of any length is accepted.
 */
export const multilineTextPattern = (maxLength: number) =>
  `^(?:[${WHITESPACE}]*|[^${MULTILINE_CONTROL}]{0,${maxLength}})$`;

const YEAR = '(?:0[1-9]|[1-9][0-9])[0-9]{2}';
const LEAP_YEAR = '(?:(?:0[1-9]|[1-9][0-9])(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)';
const MONTH_DAY = '(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)';
const TIME =
  'T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,9})?)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])';
/**
 * `isIsoDate` of the tasks domain: a real calendar date, optionally with a time and an explicit
 * offset. Years start at 0100: the domain reads years 0-99 as 1900-1999 (`Date.UTC`), so it refuses them.
 */
export const ISO_DATE_PATTERN = `^(?:${YEAR}-${MONTH_DAY}|${LEAP_YEAR}-02-29)(?:${TIME})?$`;
