import { parseMinVersion } from './min-version';

const A = '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11';
const B = '0b3c9a55-8f1e-4c1a-b8a4-5d2f3e6a7b8c';

describe('parseMinVersion', () => {
  it('reads a bare version as the route’s task, from the header or the query', () => {
    expect(parseMinVersion({ header: '3' }, A)).toEqual([{ streamId: A, version: 3 }]);
    expect(parseMinVersion({ query: '4' }, A)).toEqual([{ streamId: A, version: 4 }]);
  });

  it('reads <taskId>:<version> lists and keeps the highest version per task', () => {
    expect(parseMinVersion({ header: `${A}:2, ${B}:5`, query: `${A}:7` })).toEqual([
      { streamId: A, version: 7 },
      { streamId: B, version: 5 },
    ]);
  });

  it('accepts the largest safe integer as a version', () => {
    expect(parseMinVersion({ query: `${A}:${Number.MAX_SAFE_INTEGER}` })).toEqual([
      { streamId: A, version: Number.MAX_SAFE_INTEGER },
    ]);
  });

  it('asks for nothing when neither is given', () => {
    expect(parseMinVersion({}, A)).toEqual([]);
    expect(parseMinVersion({ header: ' ' }, A)).toEqual([]);
  });

  it.each([
    [{ header: 'abc' }, A, 'X-Min-Version'],
    [{ query: '0' }, A, 'minVersion'],
    [{ query: '-1' }, A, 'minVersion'],
    [{ query: '1.5' }, A, 'minVersion'],
    [{ query: '1e3' }, A, 'minVersion'],
    [{ query: String(Number.MAX_SAFE_INTEGER + 1) }, A, 'minVersion'],
    [{ query: '99999999999999999999' }, A, 'minVersion'],
    [{ header: ':3' }, undefined, 'X-Min-Version'],
    [{ query: '\u0000:1' }, undefined, 'minVersion'],
    [{ query: 'task-1:1' }, undefined, 'minVersion'],
    [{ query: `${A}x:1` }, undefined, 'minVersion'],
    [{ header: `${A}:1,,${B}:2` }, undefined, 'X-Min-Version'],
    [{ query: Array.from({ length: 21 }, () => `${A}:1`).join(',') }, undefined, 'minVersion'],
  ])('rejects %j with a 400 naming the field', (sources, stream, field) => {
    expect(() => parseMinVersion(sources, stream)).toThrow(
      expect.objectContaining({ errors: [expect.objectContaining({ field })] }),
    );
  });

  it('explains that a bare version needs a task on routes about a user', () => {
    expect(() => parseMinVersion({ header: '3' })).toThrow(
      expect.objectContaining({
        errors: [{ field: 'X-Min-Version', message: expect.stringContaining('<taskId>:<version>') }],
      }),
    );
  });
});
