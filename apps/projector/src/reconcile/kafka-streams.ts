import { StreamDigest } from './stream-digest';

/** What the topic holds of one stream: the versions seen (compactly) and a digest of their ids. */
export interface KafkaStream {
  /** Highest version seen. */
  max: number;
  /** Every version from `from` to `contiguous` was seen. */
  contiguous: number;
  /**
   * First version expected on the topic: 1, or the first one seen when the stream's partition
   * starts after offset 0 (retention deleted its earlier records, which is not a difference).
   */
  from: number;
  /** The partition had lost records to retention before this stream's first record seen. */
  truncated: boolean;
  /** Versions seen above `contiguous + 1` (out of order or after a gap), usually none. */
  ahead?: Set<number>;
  /** Of versions `from`..`max` as first seen; meaningful when no record lacked the `id` header. */
  digest: StreamDigest;
  /** Some record of the stream had no `id` header: event ids are not compared for it. */
  idMissing: boolean;
  /** Matched with a stream of the store (the others are phantoms). */
  matched: boolean;
}

/** Per-stream summaries of a topic's records, built from keys and headers only. */
export class KafkaStreams {
  readonly byStream = new Map<string, KafkaStream>();
  /** Records read (duplicates included). */
  records = 0;
  /** Records without a key: they belong to no stream (the projector parks them as NO_KEY). */
  unkeyed = 0;
  /** Records whose `aggregateVersion` header is missing or not a positive integer. */
  unversioned = 0;
  /** Records of a version seen before (at-least-once redelivery): harmless. */
  duplicates = 0;

  /**
   * Adds one record. `truncatedPartition`: its partition's earliest offset was above 0 when the
   * scan started (retention deleted records from it).
   */
  add(
    streamId: string | null,
    versionHeader: string | undefined,
    eventId: string | undefined,
    truncatedPartition: boolean,
  ): void {
    this.records++;
    if (streamId === null || streamId === '') {
      this.unkeyed++;
      return;
    }
    const version = Number(versionHeader);
    if (!Number.isSafeInteger(version) || version < 1) {
      this.unversioned++;
      return;
    }
    let s = this.byStream.get(streamId);
    if (!s) {
      const truncated = truncatedPartition && version > 1;
      const from = truncated ? version : 1;
      s = {
        max: 0,
        contiguous: from - 1,
        from,
        truncated,
        digest: new StreamDigest(),
        idMissing: false,
        matched: false,
      };
      this.byStream.set(streamId, s);
    }
    if (version < s.from || version <= s.contiguous || s.ahead?.has(version)) {
      this.duplicates++;
      return;
    }
    if (eventId) s.digest.add(version, eventId);
    else s.idMissing = true;
    s.max = Math.max(s.max, version);
    if (version === s.contiguous + 1) {
      s.contiguous = version;
      while (s.ahead?.delete(s.contiguous + 1)) s.contiguous++;
      if (s.ahead?.size === 0) delete s.ahead;
    } else {
      (s.ahead ??= new Set()).add(version);
    }
  }
}

/** Versions of `from`..`max` that were not seen, as a short text (`v3, v5-v7`), at most `limit` ranges. */
export function missingVersions(s: Pick<KafkaStream, 'contiguous' | 'max' | 'ahead'>, limit = 5): string {
  const ranges: string[] = [];
  let v = s.contiguous + 1;
  while (v <= s.max && ranges.length < limit) {
    if (s.ahead?.has(v)) {
      v++;
      continue;
    }
    let end = v;
    while (end + 1 <= s.max && !s.ahead?.has(end + 1)) end++;
    ranges.push(end === v ? `v${v}` : `v${v}-v${end}`);
    v = end + 1;
  }
  return ranges.join(', ') + (v <= s.max ? ', …' : '');
}
