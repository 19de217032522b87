// Kafka's transport security is read from the environment by @cqrs/config; re-exported here,
// next to the client factory that applies it (createKafka).
export { clientCredentialsTokenProvider, kafkaSecurityFromEnv, PLAINTEXT } from '@cqrs/config';
export type { ClientCredentialsOptions, KafkaSecurity, KafkaSecurityDeps, KafkaSecurityProtocol } from '@cqrs/config';
