import { hashRequest } from './idempotency';

describe('hashRequest', () => {
  it('is a SHA-256 hex digest, stable across calls', () => {
    const hash = hashRequest({ method: 'POST', path: '/tasks', body: { title: 'a' } });
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRequest({ method: 'POST', path: '/tasks', body: { title: 'a' } })).toBe(hash);
  });

  it('ignores key order at every depth', () => {
    expect(hashRequest({ a: 1, b: { c: 2, d: [1, { e: 3, f: 4 }] } })).toBe(
      hashRequest({ b: { d: [1, { f: 4, e: 3 }], c: 2 }, a: 1 }),
    );
  });

  it('tells apart requests that differ in a value, an array order, a type or a missing field', () => {
    const hashes = [
      { title: 'a' },
      { title: 'b' },
      { title: ['a', 'b'] },
      { title: ['b', 'a'] },
      { title: 1 },
      { title: '1' },
      { title: null },
      {},
    ].map(hashRequest);
    expect(new Set(hashes).size).toBe(hashes.length);
  });
});
