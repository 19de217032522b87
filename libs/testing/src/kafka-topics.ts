import { ConfigResourceTypes, ConfigSource, type Admin } from 'kafkajs';

/** One setting of a topic, as the broker describes it. */
export interface TopicSetting {
  value: string;
  /** Set on the topic itself (its creator's or an operator's), not a broker or Kafka default. */
  own: boolean;
}

/**
 * The settings `names` of `topic`, read back from the broker (DescribeConfigs): what the topic
 * really got, whoever created it.
 */
export async function topicSettings(
  admin: Admin,
  topic: string,
  names: readonly string[] = ['cleanup.policy', 'retention.ms', 'retention.bytes'],
): Promise<Record<string, TopicSetting>> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [...names] }],
  });
  const resource = resources[0];
  if (!resource || resource.errorCode !== 0)
    throw new Error(`cannot describe topic ${topic}: ${resource?.errorMessage ?? 'no answer'}`);
  return Object.fromEntries(
    resource.configEntries.map((entry) => [
      entry.configName,
      { value: entry.configValue, own: entry.configSource === ConfigSource.TOPIC_CONFIG },
    ]),
  );
}
