export { ProblemDetailsFilter, problemOf, problemTypeUri } from './problem-details.filter';
export type { ProblemDetails, FieldError } from './problem-details.filter';
export { createValidationPipe, RequestValidationError } from './validation';
export { HealthModule, READINESS_CHECKS } from './health.module';
export { composeContexts } from './context-module';
export type { ComposedContexts, ContextModule, ContextReadiness } from './context-module';
export type { ReadinessCheck } from './health.module';
export { createHttpApp } from './create-http-app';
export { DEFAULT_MAX_HEADER_SIZE } from './http-server-errors';
export { allowedMethods } from './allowed-methods';
export {
  ApiProblemResponse,
  ApiUuidParam,
  completeDocument,
  PROBLEM_JSON,
  ProblemDto,
  UUID_PATTERN,
  UuidParam,
} from './openapi';
export type { HttpAppOptions } from './create-http-app';
export { postgresCheck, kafkaCheck, httpCheck } from './readiness-checks';
export type { HttpCheckOptions, Queryable } from './readiness-checks';
export { Readiness } from './readiness';
export type { ReadinessLogger, ReadinessOptions, ReadinessVerdict } from './readiness';
export { bootstrap } from './bootstrap';
export type { ServiceDefinition } from './bootstrap';
export { apiServiceConfig, commonServiceConfig } from './common-config';
export { authConfig } from './auth/auth-config';
export type { AuthConfig } from './auth/auth-config';
export {
  AuthenticationError,
  AuthUnavailableError,
  DevelopmentIssuerError,
  RateLimitedError,
} from './auth/auth.errors';
export { TokenVerifier } from './auth/token-verifier';
export type { Principal, TokenVerifierOptions } from './auth/token-verifier';
export { CurrentPrincipal, issuerCheck, SecurityModule } from './auth/security.module';
export { isManagementPath } from './auth/management-paths';
export { listenManagement } from './management-server';
export {
  IDENTIFIER_PATTERN,
  ISO_DATE_PATTERN,
  lineTextPattern,
  multilineTextPattern,
  WHITESPACE,
} from './text-patterns';
export { AdminOnly, AdminRoleGuard } from './auth/admin-only';
