import { parseMinVersion } from './min-version';

describe('parseMinVersion', () => {
  it('reads a bare version as the route’s task, from the header or the query', () => {
    expect(parseMinVersion({ header: '3' }, 'task-1')).toEqual([{ streamId: 'task-1', version: 3 }]);
    expect(parseMinVersion({ query: '4' }, 'task-1')).toEqual([{ streamId: 'task-1', version: 4 }]);
  });

  it('reads <taskId>:<version> lists and keeps the highest version per task', () => {
    expect(parseMinVersion({ header: 'a:2, b:5', query: 'a:7' })).toEqual([
      { streamId: 'a', version: 7 },
      { streamId: 'b', version: 5 },
    ]);
  });

  it('asks for nothing when neither is given', () => {
    expect(parseMinVersion({}, 'task-1')).toEqual([]);
    expect(parseMinVersion({ header: ' ' }, 'task-1')).toEqual([]);
  });

  it.each([
    [{ header: 'abc' }, 'task-1', 'X-Min-Version'],
    [{ query: '0' }, 'task-1', 'minVersion'],
    [{ query: '-1' }, 'task-1', 'minVersion'],
    [{ header: ':3' }, undefined, 'X-Min-Version'],
  ])('rejects %j with a 400 naming the field', (sources, stream, field) => {
    expect(() => parseMinVersion(sources, stream)).toThrow(expect.objectContaining({ errors: [expect.objectContaining({ field })] }));
  });

  it('explains that a bare version needs a task on routes about a user', () => {
    expect(() => parseMinVersion({ header: '3' })).toThrow(
      expect.objectContaining({ errors: [{ field: 'X-Min-Version', message: expect.stringContaining('<taskId>:<version>') }] }),
    );
  });
});
