import { decodeChangeNotices, encodeChangeNotices } from './notifications';

describe('tasks_changed payloads', () => {
  it('round-trips changes and the generation', () => {
    const changes = [
      { streamId: 'a', version: 3, ownerId: 'u1' },
      { streamId: 'b"quoted"', version: 1, ownerId: 'ü' },
    ];
    const [payload, ...rest] = encodeChangeNotices(4, changes);
    expect(rest).toEqual([]);
    expect(decodeChangeNotices(payload!)).toEqual({ generation: 4, changes });
  });

  it('splits many changes into payloads Postgres accepts (under 8000 bytes), losing none', () => {
    const changes = Array.from({ length: 1000 }, (_, i) => ({
      streamId: `7d0f7c3e-2f0b-4a53-9a59-${String(i).padStart(12, '0')}`,
      version: i,
      ownerId: `user-${i}`,
    }));
    const payloads = encodeChangeNotices(1, changes);
    expect(payloads.length).toBeGreaterThan(1);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(8000);
    expect(payloads.flatMap((p) => decodeChangeNotices(p).changes)).toEqual(changes);
  });

  it('rejects a payload of another shape', () => {
    expect(() => decodeChangeNotices('{"hello":1}')).toThrow('not a tasks_changed payload');
    expect(() => decodeChangeNotices('{"g":1,"c":[[1,2,3]]}')).toThrow('malformed');
  });
});
