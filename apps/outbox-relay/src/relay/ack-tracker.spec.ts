import { AckTracker } from './ack-tracker';

describe('AckTracker: which WAL position may be confirmed', () => {
  it('confirms a transaction end only once every row before it is acknowledged', () => {
    const tracker = new AckTracker(100n);
    tracker.row();
    tracker.row();
    expect(tracker.checkpoint(200n)).toBe(100n); // tx 1 ends at 200, nothing on Kafka yet
    tracker.row();
    expect(tracker.checkpoint(300n)).toBe(100n);
    expect(tracker.ack(1)).toBe(100n); // half of tx 1
    expect(tracker.ack(1)).toBe(200n); // all of tx 1
    expect(tracker.pending).toBe(1);
    expect(tracker.ack(1)).toBe(300n);
    expect(tracker.pending).toBe(0);
  });

  it('confirms a position with no rows before it at once (idle keepalive, empty transaction)', () => {
    const tracker = new AckTracker(0n);
    expect(tracker.checkpoint(500n)).toBe(500n);
  });

  it('keeps a keepalive position behind rows that are still in flight', () => {
    const tracker = new AckTracker(0n);
    tracker.row();
    tracker.checkpoint(100n);
    expect(tracker.checkpoint(900n)).toBe(0n);
    expect(tracker.ack(1)).toBe(900n);
  });

  it('never moves backwards', () => {
    const tracker = new AckTracker(1000n);
    expect(tracker.checkpoint(900n)).toBe(1000n);
    expect(tracker.confirmed).toBe(1000n);
  });

  it('refuses to acknowledge rows it has not received', () => {
    const tracker = new AckTracker(0n);
    tracker.row();
    expect(() => tracker.ack(2)).toThrow('only 1 are pending');
  });
});
