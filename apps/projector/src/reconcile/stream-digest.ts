/**
 * An order-independent digest of a stream's (version, event id) pairs: the Kafka side adds each
 * version the first time it sees it, the store side the same versions, and equal digests mean
 * every version carries the same event id on both sides, without keeping the ids. Two 32-bit
 * lanes: a collision (a wrong id going unnoticed) has a chance of about 2^-64.
 */
export class StreamDigest {
  private a = 0;
  private b = 0;

  add(version: number, eventId: string): void {
    const id = eventId.toLowerCase();
    let a = (0x811c9dc5 ^ version) >>> 0;
    let b = (0x9747b28c + Math.imul(version, 0x9e3779b1)) >>> 0;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    this.a = (this.a + (a >>> 0)) >>> 0;
    this.b = (this.b + (b >>> 0)) >>> 0;
  }

  equals(other: StreamDigest): boolean {
    return this.a === other.a && this.b === other.b;
  }
}
