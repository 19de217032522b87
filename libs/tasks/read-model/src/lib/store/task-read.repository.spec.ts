import { decodeCursor, encodeCursor } from './task-read.repository';

describe('task list cursors', () => {
  it('decode what they encode', () => {
    const cursor = { createdAt: '2025-01-01T09:00:00.000Z', taskId: 't-1' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it.each(['not-base64-json', Buffer.from('[1,2]').toString('base64url'), Buffer.from('["not a date","x"]').toString('base64url')])(
    'reject a cursor this service did not hand out (%s) as a 400 INVALID_CURSOR',
    (bad) => {
      expect(() => decodeCursor(bad)).toThrow(expect.objectContaining({ code: 'INVALID_CURSOR', kind: 'validation' }));
    },
  );
});
