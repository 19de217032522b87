import { createMissingTopics, eventTopicConfig, type DeadLetterPublisher } from '@cqrs/messaging/consumer';
import type { Admin } from 'kafkajs';

/**
 * What a projection needs before it consumes: its topics (created, as the relay would, when
 * `createWithPartitions` is set; otherwise it waits for the producer) and their dead-letter
 * topics. Returns the event topics it created. `admin` connects one lazily: only a creation needs it.
 */
export async function prepareProjectionTopics(
  admin: () => Promise<Admin>,
  dlq: Pick<DeadLetterPublisher, 'connect' | 'ensureTopics'>,
  topics: string[],
  options: { createWithPartitions?: number; retentionMs?: number },
): Promise<string[]> {
  await dlq.connect();
  const created =
    options.createWithPartitions === undefined
      ? []
      : await createMissingTopics(
          await admin(),
          topics,
          options.createWithPartitions,
          eventTopicConfig(options.retentionMs),
        );
  await dlq.ensureTopics(topics);
  return created;
}
