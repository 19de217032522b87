import { IDENTIFIER_PATTERN, ISO_DATE_PATTERN, lineTextPattern, multilineTextPattern } from '@cqrs/http';
import { TASK_LIMITS, validateTaskCommand } from '@cqrs/tasks-domain';

// The body schemas of /openapi.json are what clients and the fuzzer generate values from: a value
// the documented pattern and length admit must be one the domain accepts, and the other way round.
const create = (data: Record<string, unknown>) => () =>
  validateTaskCommand({
    type: 'CreateTask',
    data: { taskId: '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11', ownerId: 'user-1', title: 't', ...data },
    metadata: { now: '2026-01-01T00:00:00Z' },
  } as never);
const accepted = (run: () => void) => {
  try {
    run();
    return true;
  } catch {
    return false;
  }
};
const documented = (pattern: string, value: string, maxLength = Infinity) =>
  new RegExp(pattern, 'u').test(value) && [...value].length <= maxLength;

describe('documented body patterns agree with the domain', () => {
  const long = (n: number) => 'x'.repeat(n);
  const texts = [
    long(200),
    long(201),
    ` ${long(200)}\u3000`,
    ` ${long(199)}😀\t`,
    ` ${long(201)} `,
    ' '.repeat(2001),
    long(2000),
    long(2001),
    'alice',
    'a b',
    '😀',
    ' padded\t',
    '\n\tline\r\n',
    'a\u0011b',
    '\u0011',
    'a\u0085',
    '\uFEFFa\uFEFF',
    '\u3000',
    ' ',
    '',
    'a\u2028b',
    'x\u000Bx',
    '\u000B',
  ];

  it.each(texts)('ownerId %j', (value) => {
    expect(documented(IDENTIFIER_PATTERN, value, TASK_LIMITS.idMaxLength)).toBe(accepted(create({ ownerId: value })));
  });

  it.each(texts)('title %j', (value) => {
    expect(documented(lineTextPattern(TASK_LIMITS.titleMaxLength), value)).toBe(accepted(create({ title: value })));
  });

  it.each(texts)('reason %j', (value) => {
    const abandon = () =>
      validateTaskCommand({
        type: 'AbandonTask',
        data: { taskId: '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11', reason: value },
        metadata: { now: '2026-01-01T00:00:00Z' },
      } as never);
    expect(documented(lineTextPattern(TASK_LIMITS.reasonMaxLength), value)).toBe(accepted(abandon));
  });

  it.each(texts)('description %j', (value) => {
    expect(documented(multilineTextPattern(TASK_LIMITS.descriptionMaxLength), value)).toBe(
      accepted(create({ description: value })),
    );
  });

  it.each([
    '2026-12-31',
    '2024-02-29',
    '2000-02-29',
    '1900-02-29',
    '2025-02-29',
    '2026-04-31',
    '2026-13-01',
    '2026-00-10',
    '0100-01-01',
    '0050-01-01',
    '2026-12-31T10:00Z',
    '2026-12-31T23:59:59.123456789+14:00',
    '2026-12-31T24:00Z',
    '2026-12-31T10:00',
    '2026-12-31t10:00z',
    '2026-12-31T10:00:60Z',
    '２０２６-01-01',
  ])('dueDate %j', (value) => {
    expect(new RegExp(ISO_DATE_PATTERN, 'u').test(value)).toBe(accepted(create({ dueDate: value })));
  });
});
