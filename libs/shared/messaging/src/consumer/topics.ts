import type { Admin } from 'kafkajs';
import type { TopicConfigEntry } from '../kafka/event-topics';
import { isTopicAuthorizationError } from '../kafka/kafka-errors';

// Event topics are created with `eventTopicConfig` (they keep their history); re-exported for the
// consumers that create them.
export { eventTopicConfig, type TopicConfigEntry } from '../kafka/event-topics';

/**
 * Creates those of `topics` that do not exist yet, with `partitions` partitions each (the
 * broker's default replication) and the topic-level settings `config` (none: the broker's
 * defaults, e.g. its retention). A topic that exists keeps its settings. Safe to race: a topic
 * created meanwhile by someone else is fine. Returns the topics it created.
 */
export async function createMissingTopics(
  admin: Admin,
  topics: readonly string[],
  partitions: number,
  config: readonly TopicConfigEntry[] = [],
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length === 0) return [];
  const configEntries = config.map((entry) => ({ ...entry }));
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({ topic, numPartitions: partitions, configEntries })),
    });
  } catch (error) {
    // A topic this identity may not describe is missing from the list too: say which, and what to grant.
    if (isTopicAuthorizationError(error)) {
      throw new Error(
        `not authorized to describe or create topic ${missing.join(', ')}: grant this service's Kafka identity Describe and Read on it (an ACL)`,
      );
    }
    if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error;
  }
  return missing;
}
