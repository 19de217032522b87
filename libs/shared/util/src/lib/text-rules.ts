/**
 * The one set of rules for text and identifiers that cross the system's edges (HTTP bodies,
 * paths, query strings, headers, Kafka records): the write side, the read side and the domain
 * all check with these functions, so a value one side accepts the other can store, index and
 * find again.
 *
 * - Well-formed Unicode: no lone UTF-16 surrogate (`\ud800` cannot be encoded as UTF-8, so
 *   Postgres rejects it, and with it every statement it travels in).
 * - No control characters (Unicode category Cc: U+0000–U+001F, U+007F–U+009F). Multi-line text
 *   (descriptions) may hold tab, line feed and carriage return; single-line text (titles,
 *   reasons) and identifiers hold none. U+0000 in particular is refused by Postgres `text`.
 * - Lengths are counted in Unicode code points, everywhere: an emoji is one character, as a user
 *   counts it, on both sides.
 */

export type TextKind = 'line' | 'multiline';

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_IN_LINE = /[\u0000-\u001F\u007F-\u009F]/;
// eslint-disable-next-line no-control-regex -- as above, less tab, line feed and carriage return
const CONTROL_IN_MULTILINE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/** Length in Unicode code points (what a user counts as characters). */
export function codePointLength(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // a surrogate pair counts once: skip its low half
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    length++;
  }
  return length;
}

/** True if the string has no lone surrogate (it can be encoded as UTF-8). */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/**
 * What is wrong with a text under the shared rules, as a message for the field's error
 * (`must ...`), or null when it is acceptable. Blank handling is the caller's (a blank title and
 * a blank description mean different things).
 */
export function textProblem(text: string, options: { maxLength: number; kind?: TextKind }): string | null {
  if (!isWellFormedText(text)) return 'must be well-formed Unicode (it holds a lone surrogate)';
  if ((options.kind ?? 'line') === 'line') {
    if (CONTROL_IN_LINE.test(text)) return 'must not contain control characters (U+0000-U+001F, U+007F-U+009F)';
  } else if (CONTROL_IN_MULTILINE.test(text)) {
    return 'must not contain control characters other than tab, line feed and carriage return';
  }
  if (codePointLength(text) > options.maxLength) return `must be at most ${options.maxLength} characters`;
  return null;
}

/**
 * What is wrong with an identifier (an owner or user id, a key): non-empty, no surrounding
 * whitespace, single-line text rules, at most `maxLength` code points. Null when acceptable.
 */
export function identifierProblem(value: unknown, maxLength: number): string | null {
  if (typeof value !== 'string' || value.trim() === '' || value !== value.trim())
    return 'must be a non-blank identifier';
  return textProblem(value, { maxLength, kind: 'line' });
}

/** The canonical UUID form (any version), lower or upper case. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
