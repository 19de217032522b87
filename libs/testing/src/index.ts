export { getTestInfra, registerSchemas, repoRoot } from './test-infra';
export type { TestInfra } from './test-infra';
export { startApp, freePort, exitOf } from './app-process';
export type { AppProcess } from './app-process';
export { createThrowawayDatabase } from './throwaway-database';
export type { ThrowawayDatabase } from './throwaway-database';
export { startOtlpReceiver, otlpEnv } from './otlp-receiver';
export type { OtlpReceiver, ReceivedSpan } from './otlp-receiver';
