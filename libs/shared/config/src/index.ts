export { loadConfig, ConfigError, env } from './load-config';
export { collectConfig, envValue, pemFileFromEnv, rotatingSecretFromEnv, secretFromEnv } from './env-secrets';
export type { ConfigIssue, EnvSource } from './env-secrets';
export { clientCredentialsTokenProvider, kafkaSecurityFromEnv, PLAINTEXT } from './kafka-security';
export type {
  ClientCredentialsOptions,
  KafkaSecurity,
  KafkaSecurityDeps,
  KafkaSecurityProtocol,
  OauthbearerProviderResponse,
  SASLOptions,
} from './kafka-security';
export {
  schemaRegistryAccessFromEnv,
  schemaRegistryHeaders,
  schemaRegistryOptionsFromEnv,
} from './schema-registry-access';
export type { SchemaRegistryAccess, SchemaRegistryConnection } from './schema-registry-access';
