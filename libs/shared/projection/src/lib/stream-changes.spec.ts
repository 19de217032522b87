import { decodeStreamChanges, encodeStreamChanges } from './stream-changes';

describe('stream change notifications', () => {
  it('round-trips, in as few payloads as fit under the NOTIFY limit', () => {
    const changes = Array.from({ length: 500 }, (_, i) => ({
      streamId: `0195e5c4-7f6b-7c1e-9a3d-${String(i).padStart(12, '0')}`,
      version: i + 1,
    }));
    const payloads = encodeStreamChanges(changes);
    expect(payloads.length).toBeGreaterThan(1);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(7900);
    expect(payloads.flatMap(decodeStreamChanges)).toEqual(changes);
    expect(encodeStreamChanges([])).toEqual([]);
  });

  it.each(['{}', '{"c":[["a"]]}', '{"c":[[1,2]]}', '{"c":[["a",1.5]]}', 'nope'])('refuses %s', (payload) => {
    expect(() => decodeStreamChanges(payload)).toThrow();
  });
});
