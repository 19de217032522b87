import { codePointLength, identifierProblem, isWellFormedText, textProblem } from './text-rules';

describe('text rules', () => {
  it('counts code points, so an emoji is one character', () => {
    expect(codePointLength('abc')).toBe(3);
    expect(codePointLength('😀😀')).toBe(2);
    expect(codePointLength('\ud800x')).toBe(2); // a lone surrogate still counts once
  });

  it('finds lone surrogates, high or low, and accepts pairs', () => {
    expect(isWellFormedText('ok 😀')).toBe(true);
    expect(isWellFormedText('\ud800')).toBe(false);
    expect(isWellFormedText('a\udc00b')).toBe(false);
    expect(isWellFormedText('\ud83d\ud83d\ude00')).toBe(false);
  });

  it('refuses control characters in a line, allows tab, LF and CR in multi-line text', () => {
    expect(textProblem('a\u0000b', { maxLength: 10 })).toMatch(/control characters/);
    expect(textProblem('a\tb', { maxLength: 10 })).toMatch(/control characters/);
    expect(textProblem('a\u0085b', { maxLength: 10 })).toMatch(/control characters/);
    expect(textProblem('line 1\r\n\tline 2', { maxLength: 100, kind: 'multiline' })).toBeNull();
    expect(textProblem('a\u0000b', { maxLength: 10, kind: 'multiline' })).toMatch(/other than tab/);
    expect(textProblem('a\u007fb', { maxLength: 10, kind: 'multiline' })).toMatch(/other than tab/);
  });

  it('names a lone surrogate before anything else', () => {
    expect(textProblem('\ud800', { maxLength: 10 })).toBe('must be well-formed Unicode (it holds a lone surrogate)');
  });

  it('bounds length in code points', () => {
    expect(textProblem('😀'.repeat(5), { maxLength: 5 })).toBeNull();
    expect(textProblem('😀'.repeat(6), { maxLength: 5 })).toBe('must be at most 5 characters');
  });

  it('accepts an identifier only when non-blank, trimmed, single-line and bounded', () => {
    expect(identifierProblem('alice', 200)).toBeNull();
    expect(identifierProblem('😀'.repeat(200), 200)).toBeNull();
    expect(identifierProblem('😀'.repeat(201), 200)).toBe('must be at most 200 characters');
    expect(identifierProblem(' alice', 200)).toBe('must be a non-blank identifier');
    expect(identifierProblem('', 200)).toBe('must be a non-blank identifier');
    expect(identifierProblem(42, 200)).toBe('must be a non-blank identifier');
    expect(identifierProblem('a\u0000', 200)).toMatch(/control characters/);
  });
});
