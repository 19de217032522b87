import { formatBytes, formatDuration, percentDone, traceUrl } from './format';

describe('operations formatting', () => {
  it('formats an ETA', () => {
    expect(formatDuration(42_400)).toBe('42 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(120_000)).toBe('2 min');
    expect(formatDuration(3_720_000)).toBe('1 h 2 min');
    expect(formatDuration(-1)).toBe('unknown');
    expect(formatDuration(Number.NaN)).toBe('unknown');
  });

  it('computes progress, and none while the total is unknown', () => {
    expect(percentDone(250, 1000)).toBe(25);
    expect(percentDone(1999, 2000)).toBe(99); // never rounds up to a false 100
    expect(percentDone(1200, 1000)).toBe(100);
    expect(percentDone(10, 0)).toBeNull();
    expect(percentDone(10, null)).toBeNull();
  });

  it('formats lag in bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MiB');
  });

  it('links a W3C trace id through the template, and nothing else', () => {
    const template = 'http://127.0.0.1:16686/trace/{traceId}';
    expect(traceUrl(template, ' 4BF92F3577B34DA6A3CE929D0E0E4736 ')).toBe(
      'http://127.0.0.1:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect(traceUrl(template, '00000000000000000000000000000000')).toBeNull();
    expect(traceUrl(template, 'javascript:alert(1)')).toBeNull();
    expect(traceUrl(null, '4bf92f3577b34da6a3ce929d0e0e4736')).toBeNull();
  });
});
