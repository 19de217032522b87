import { copyLines, copyText } from './copy-in';

describe('COPY text format', () => {
  it('writes NULL as \\N and escapes backslash, tab, newline and carriage return, nothing else', () => {
    expect(copyText(null)).toBe('\\N');
    expect(copyText('plain "quoted" é 🙂')).toBe('plain "quoted" é 🙂');
    expect(copyText('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyText('\\N')).toBe('\\\\N'); // the text "\N", not NULL
    expect(copyText(42)).toBe('42');
    expect(copyText(false)).toBe('false');
  });

  it('puts one row per line, values separated by tabs', () => {
    expect(
      copyLines([
        ['a', 1, null],
        ['b\tc', 2, true],
      ]),
    ).toBe('a\t1\t\\N\nb\\tc\t2\ttrue\n');
    expect(copyLines([])).toBe('');
  });
});
