export {
  APP_IDENTITIES,
  appIdentityEnv,
  getTestInfra,
  kafkaCredentials,
  kafkaSecurityAs,
  parseEnvFile,
  registerSchemas,
  registryCredentials,
  registryRequest,
  repoRoot,
  SECURITY_VARIABLES,
} from './test-infra';
export type { InfraSettings, TestInfra } from './test-infra';
export { startApp, freePort, exitOf } from './app-process';
export type { AppProcess } from './app-process';
export { createThrowawayDatabase, restrictToRoles } from './throwaway-database';
export type { ThrowawayDatabase } from './throwaway-database';
export { startOtlpReceiver, otlpEnv } from './otlp-receiver';
export type { OtlpReceiver, ReceivedSpan } from './otlp-receiver';
export { cleanTestLeftovers, dropDatabase, isTestDatabase, TEST_DATABASE_PREFIXES } from './database-cleanup';
export type { CleanupReport, TestDatabaseState } from './database-cleanup';
export { quoteIdent, withClient } from './database-cleanup';
export { useInMemoryTracing } from './in-memory-tracing';
export { eventually } from './eventually';
export { devToken, tamperedToken, untrustedToken } from './tokens';
export type { TokenOptions } from './tokens';
export { CONNECT_PRINCIPAL, grantAppAcls, grantClientAcls, grantTopicPrefix } from './kafka-acls';
export { topicSettings } from './kafka-topics';
export type { TopicSetting } from './kafka-topics';
export { INSUFFICIENT_PRIVILEGE, sqlstate } from './sql-state';
