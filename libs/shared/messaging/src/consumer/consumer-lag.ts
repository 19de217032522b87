import type { Admin } from 'kafkajs';

/** Where a consumer group stands on one partition. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** Next offset the group will read; null when it has committed nothing yet. */
  committedOffset: string | null;
  /** Offset of the next record to be written (the log end). */
  highWatermark: string;
  /** Records written but not yet committed by the group. */
  lag: number;
}

/** Per-partition lag of `groupId` on `topics` (committed offsets against the log end). */
export async function consumerGroupLag(admin: Admin, groupId: string, topics: string[]): Promise<PartitionLag[]> {
  const [committed, ends] = await Promise.all([
    admin.fetchOffsets({ groupId, topics }),
    Promise.all(topics.map(async (topic) => ({ topic, partitions: await admin.fetchTopicOffsets(topic) }))),
  ]);
  const committedOf = new Map<string, string>();
  for (const t of committed) for (const p of t.partitions) committedOf.set(`${t.topic}/${p.partition}`, p.offset);
  return ends.flatMap(({ topic, partitions }) =>
    partitions
      .map((p) => {
        const raw = committedOf.get(`${topic}/${p.partition}`);
        // Negative offsets are sentinels, not positions: "-1" (never committed) and "-2"/"-1"
        // written by an offset reset to earliest/latest. The group then starts at the log start.
        const offset = raw === undefined || raw.startsWith('-') ? null : raw;
        const start = offset ?? p.low;
        return {
          topic,
          partition: p.partition,
          committedOffset: offset,
          highWatermark: p.high,
          lag: Math.max(0, Number(BigInt(p.high) - BigInt(start))),
        };
      })
      .sort((a, b) => a.partition - b.partition),
  );
}

/** Total lag over all partitions. */
export const totalLag = (lags: readonly PartitionLag[]) => lags.reduce((sum, l) => sum + l.lag, 0);
