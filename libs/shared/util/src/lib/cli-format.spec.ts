import { InvalidArgumentError } from 'commander';
import {
  formatAge,
  formatBytes,
  formatDurationMs,
  parseDuration,
  parseNonNegativeInt,
  parsePositiveInt,
  table,
} from './cli-format';

describe('CLI options: parsing', () => {
  it.each([
    ['90d', 90 * 86_400_000],
    ['12h', 12 * 3_600_000],
    ['30m', 1_800_000],
    ['45s', 45_000],
    ['500ms', 500],
    ['0d', 0],
  ])('reads the duration %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['90', '1.5d', '-1d', 'd', '3w', '', '10 days'])(
    'refuses the duration %j with a readable message',
    (text) => {
      expect(() => parseDuration(text)).toThrow(InvalidArgumentError);
      expect(() => parseDuration(text)).toThrow(/is not a duration: use a whole number and a unit, e\.g\. 90d/);
    },
  );

  it('reads positive integers and refuses anything else', () => {
    expect(parsePositiveInt('5')).toBe(5);
    for (const bad of ['0', '-1', '1.5', 'x', '', '1e3'])
      expect(() => parsePositiveInt(bad)).toThrow(/is not a positive integer/);
  });

  it('reads non-negative integers (0 included) and refuses anything else', () => {
    expect([parseNonNegativeInt('0'), parseNonNegativeInt('42')]).toEqual([0, 42]);
    for (const bad of ['-1', '1.5', 'x', '', '1e3', '9007199254740993'])
      expect(() => parseNonNegativeInt(bad)).toThrow(InvalidArgumentError);
  });
});

describe('CLI output: printing', () => {
  it('writes durations in the largest whole unit', () => {
    expect([90 * 86_400_000, 36 * 3_600_000, 90_000, 1500].map(formatDurationMs)).toEqual([
      '90d',
      '36h',
      '90s',
      '1500ms',
    ]);
  });

  it('writes ages and sizes readably', () => {
    expect([null, 42, 600, 3 * 3600, 12.5 * 86_400].map(formatAge)).toEqual([
      '-',
      '42 s',
      '10.0 min',
      '3.0 h',
      '12.5 d',
    ]);
    expect([0, 512, 1536, 20 * 1024 * 1024].map(formatBytes)).toEqual(['0 B', '512 B', '1.5 KiB', '20.0 MiB']);
  });

  it('aligns tables', () => {
    expect(
      table([
        { a: 1, bb: 'x' },
        { a: 100, bb: null },
      ]),
    ).toBe('a    bb\n1    x\n100  -');
    expect(table([])).toBe('(none)');
  });
});
