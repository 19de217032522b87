import { TASK_LIMITS } from '@cqrs/tasks-domain';
import { identifierProblem } from '@cqrs/util';
import { MIN_VERSION_PATTERN, parseMinVersion } from '../queries';
import { TASK_MIN_VERSION_PATTERN, USER_ID_PATTERN } from './tasks.dto';

// The OpenAPI patterns are what clients and the fuzzer generate values from: they must accept
// what the service accepts and refuse what it refuses.
const A = '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11';
const accepts = (parse: () => unknown) => {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
};

describe('documented parameter patterns', () => {
  it.each([
    'alice',
    'user-1',
    '😀'.repeat(200),
    'a b',
    'é',
    '\u0000',
    ' alice',
    'alice ',
    ' ',
    '',
    'a\u001Fb',
    'a\u0085b',
    '\u00A0a',
    'a\tb',
    'a\u2028',
    '\uFEFFa',
    'a\u3000',
  ])('userId %j: the pattern and identifierProblem agree', (value) => {
    expect(new RegExp(USER_ID_PATTERN, 'u').test(value)).toBe(
      identifierProblem(value, TASK_LIMITS.idMaxLength) === null,
    );
  });

  it.each([
    '3',
    ` ${A}:2 `,
    `${A}:2, ${A}:5`,
    `${A}:2,,${A}:5`,
    `${A}:0`,
    `${A}:01`,
    '\u0000:1',
    'x:1',
    ':3',
    '',
    '  ',
    Array.from({ length: 20 }, () => `${A}:1`).join(','),
    Array.from({ length: 21 }, () => `${A}:1`).join(','),
    `${A}:9007199254740991`,
    `${A}:9007199254740992`,
    `${A}:9472589585605110`,
    '999999999999999',
    '1000000000000000',
    '\u00A03\uFEFF',
    '\u001C3',
    '3\u0085',
  ])('minVersion %j: the patterns and parseMinVersion agree', (value) => {
    expect(new RegExp(TASK_MIN_VERSION_PATTERN, 'u').test(value)).toBe(
      accepts(() => parseMinVersion({ query: value }, A)),
    );
    expect(new RegExp(MIN_VERSION_PATTERN, 'u').test(value)).toBe(accepts(() => parseMinVersion({ query: value })));
  });
});
