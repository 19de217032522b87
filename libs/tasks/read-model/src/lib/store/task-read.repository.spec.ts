import { decodeCursor, encodeCursor } from './task-read.repository';
import { ReadModelUnavailableError } from './read-model-unavailable.error';

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('task list cursors', () => {
  it.each([
    ['a UUID', '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11'],
    ['any id the domain accepts, 200 emoji included', '😀'.repeat(200)],
  ])('decode what they encode (%s)', (_, taskId) => {
    const cursor = { createdAt: '2025-01-01T09:00:00.000Z', taskId };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it.each([
    ['not base64 JSON', 'not-base64-json'],
    ['not a pair of strings', cursorOf([1, 2])],
    ['not a date', cursorOf(['not a date', 't-1'])],
    ['a date PostgreSQL would not parse the same way', cursorOf(['1', 'x'])],
    ['an impossible date', cursorOf(['2025-02-30T00:00:00.000Z', 't-1'])],
    ['year 0, out of timestamptz range', cursorOf(['0000-01-01T00:00:00.000Z', 't-1'])],
    ['an extended year', cursorOf(['+010000-01-01T00:00:00.000Z', 't-1'])],
    ['a NUL in the task id', cursorOf(['2025-01-01T09:00:00.000Z', 'a\u0000b'])],
    ['a lone surrogate in the task id', cursorOf(['2025-01-01T09:00:00.000Z', '\ud800'])],
    ['a task id over 200 characters', cursorOf(['2025-01-01T09:00:00.000Z', 'x'.repeat(201)])],
    ['a blank task id', cursorOf(['2025-01-01T09:00:00.000Z', ' '])],
    ['a third member', cursorOf(['2025-01-01T09:00:00.000Z', 't-1', 'x'])],
    ['padding (not canonical base64url)', `${cursorOf(['2025-01-01T09:00:00.000Z', 't-1'])}=`],
    ['trailing bits (not canonical base64url)', `${cursorOf(['2025-01-01T09:00:00.000Z', 't-1'])}A`],
    ['empty', ''],
  ])('reject a cursor this service did not hand out (%s) as a 400 INVALID_CURSOR naming the field', (_, bad) => {
    expect(() => decodeCursor(bad)).toThrow(
      expect.objectContaining({
        code: 'INVALID_CURSOR',
        kind: 'validation',
        details: { errors: [{ field: 'cursor', message: 'invalid cursor' }] },
      }),
    );
  });
});

describe('ReadModelUnavailableError', () => {
  it.each([
    ['a pool acquire timeout', new Error('timeout exceeded when trying to connect')],
    [
      'a statement timeout',
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
    ],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    ['too many connections', Object.assign(new Error('sorry, too many clients already'), { code: '53300' })],
  ])('treats %s as unavailable: 503 READ_MODEL_UNAVAILABLE with Retry-After', (_, error) => {
    expect(ReadModelUnavailableError.matches(error)).toBe(true);
    expect(new ReadModelUnavailableError(error)).toMatchObject({
      code: 'READ_MODEL_UNAVAILABLE',
      kind: 'unavailable',
      httpStatus: 503,
      headers: { 'Retry-After': '1' },
      cause: error,
    });
  });

  it.each([
    ['a syntax error', Object.assign(new Error('syntax error'), { code: '42601' })],
    ['a bad value', Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' })],
    ['not an error', undefined],
  ])('does not treat %s as unavailable (a bug stays a 500)', (_, error) => {
    expect(ReadModelUnavailableError.matches(error)).toBe(false);
  });
});
