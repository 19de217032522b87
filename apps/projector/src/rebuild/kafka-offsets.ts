import type { NotedOffset } from '@cqrs/tasks-read-model';
import type { Admin } from 'kafkajs';

/**
 * Each partition's end offset (the offset the next record will get) of the topics that exist:
 * noted BEFORE the store snapshot is taken, so every event committed after the snapshot was
 * published at or after these offsets. A topic that does not exist yet is left out (its
 * consumer starts at its beginning).
 */
export async function noteEndOffsets(admin: Admin, topics: readonly string[]): Promise<NotedOffset[]> {
  const existing = new Set(await admin.listTopics());
  const noted: NotedOffset[] = [];
  for (const topic of topics) {
    if (!existing.has(topic)) continue;
    for (const p of await admin.fetchTopicOffsets(topic)) noted.push({ topic, partition: p.partition, offset: p.high });
  }
  return noted.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** Commits `offsets` for `groupId` (which must have no members yet): where its consumer starts. */
export async function commitOffsets(admin: Admin, groupId: string, offsets: readonly NotedOffset[]): Promise<void> {
  const byTopic = new Map<string, { partition: number; offset: string }[]>();
  for (const o of offsets)
    byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), { partition: o.partition, offset: o.offset }]);
  for (const [topic, partitions] of byTopic) await admin.setOffsets({ groupId, topic, partitions });
}

/** Records on the topics beyond the noted offsets, given the current end offsets. */
export function recordsSince(noted: readonly NotedOffset[], ends: readonly NotedOffset[]): number {
  const start = new Map(noted.map((n) => [`${n.topic}/${n.partition}`, BigInt(n.offset)]));
  return ends.reduce((sum, e) => {
    const from = start.get(`${e.topic}/${e.partition}`) ?? 0n;
    const end = BigInt(e.offset);
    return sum + (end > from ? Number(end - from) : 0);
  }, 0);
}

/** Records on the topics (end minus start offsets, over the partitions of those that exist). */
export async function recordsOnTopics(admin: Admin, topics: readonly string[]): Promise<number> {
  const existing = new Set(await admin.listTopics());
  let records = 0;
  for (const topic of topics) {
    if (!existing.has(topic)) continue;
    for (const p of await admin.fetchTopicOffsets(topic)) records += Number(BigInt(p.high) - BigInt(p.low));
  }
  return records;
}
