/**
 * How the event topics (`<aggregatetype>.events`) are created, wherever they are created: the
 * relay, the projector's auto-create, and the deployments (docs/architecture.md, "Event topics
 * keep their history"). Rebuilds read the event store, but new consumers, replays and the
 * reconciliation's Kafka check read the topic, so by default it keeps every event. Old segments
 * are deleted, never compacted: consumers need every event of a stream, not only its last.
 */

/** `retention.ms` that keeps every event: the default of `EVENT_TOPIC_RETENTION_MS`. */
export const EVENT_TOPIC_RETENTION_FOREVER = -1;

/**
 * The shortest bounded retention accepted. A projector down for longer than the retention would
 * find its committed offsets gone, so anything this short is a mistake, not a policy.
 */
export const MIN_EVENT_TOPIC_RETENTION_MS = 3_600_000;

/** What `EVENT_TOPIC_RETENTION_MS` must be, as the config error says it. */
export const EVENT_TOPIC_RETENTION_RULE = `must be -1 (keep every event) or a bounded retention of at least ${MIN_EVENT_TOPIC_RETENTION_MS} ms (one hour)`;

/** Whether `ms` is an event topic retention the apps accept (see {@link EVENT_TOPIC_RETENTION_RULE}). */
export const isEventTopicRetention = (ms: number): boolean =>
  ms === EVENT_TOPIC_RETENTION_FOREVER || (Number.isSafeInteger(ms) && ms >= MIN_EVENT_TOPIC_RETENTION_MS);

/** A topic-level setting, as kafkajs' `createTopics` takes it (`configEntries`). */
export interface TopicConfigEntry {
  name: string;
  value: string;
}

/**
 * The settings an event topic is created with: `cleanup.policy=delete`, `retention.ms` (default
 * -1, every event kept) and `retention.bytes=-1` (never bounded by size: with a bounded
 * retention, time alone decides what goes).
 */
export function eventTopicConfig(retentionMs: number = EVENT_TOPIC_RETENTION_FOREVER): TopicConfigEntry[] {
  if (!isEventTopicRetention(retentionMs))
    throw new RangeError(`event topic retention ${retentionMs} ms: ${EVENT_TOPIC_RETENTION_RULE}`);
  return [
    { name: 'cleanup.policy', value: 'delete' },
    { name: 'retention.ms', value: String(retentionMs) },
    { name: 'retention.bytes', value: '-1' },
  ];
}
