/**
 * A typed client of the system for front ends: TanStack Query option factories (framework-agnostic,
 * on `@tanstack/query-core`) over openapi-fetch clients typed from the services' OpenAPI documents.
 * Runs in browsers: no Node module, no app code.
 */
export type {
  AdminOptionFactories,
  AdminPaths,
  DeadLetter,
  DeadLetterDetail,
  DeadLetterList,
  DiscardResult,
  Projection,
  ProjectionList,
  Rebuild,
  RebuildSource,
  Reconciliation,
  RedriveResult,
  RelayStatus,
  StartReconciliationBody,
} from './lib/admin';
export { createCqrsClient, type CqrsClient, type CqrsClientOptions } from './lib/client';
export {
  createServiceClients,
  type BaseUrls,
  type ServiceClientOptions,
  type ServiceClients,
  type TokenProvider,
} from './lib/http';
export {
  adminInvalidations,
  projectInvalidations,
  taskInvalidations,
  type AdminChange,
  type ProjectChange,
  type TaskChange,
} from './lib/invalidation';
export { DEFAULT_CACHE, type CacheOptions, type CqrsMutationOptions, type CqrsQueryOptions } from './lib/options';
export {
  ConflictError,
  isConflictError,
  isProblemError,
  NETWORK_ERROR,
  parseRetryAfter,
  ProblemError,
  type Problem,
} from './lib/problem-error';
export type { ProjectOptionFactories } from './lib/projects';
export {
  mutationKeys,
  queryKeys,
  type DeadLetterFilter,
  type ProjectListParams,
  type TaskListParams,
} from './lib/query-keys';
export { DEFAULT_RETRY, isRetriable, retryDelay, retryPolicy, shouldRetry, type RetryOptions } from './lib/retry';
export type { TaskOptionFactories } from './lib/tasks';
export type * from './lib/types';
export { MAX_REQUIREMENTS, VersionTracker, type StreamKind, type VersionTrackerOptions } from './lib/versions';
export type { paths as CommandPaths, components as CommandComponents } from './generated/commands';
export type { paths as QueryPaths, components as QueryComponents } from './generated/queries';
export type { components as AdminComponents } from './generated/admin';
