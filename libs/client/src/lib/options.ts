import type {
  DataTag,
  MutationFunctionContext,
  MutationKey,
  QueryClient,
  QueryFunction,
  QueryKey,
} from '@tanstack/query-core';
import type { ServiceClients } from './http';
import { newIdempotencyKey } from './http';
import type { ProblemError } from './problem-error';
import { retryPolicy, withRetries, type RetryOptions } from './retry';
import type { VersionTracker } from './versions';

/**
 * How long answers are kept. TanStack Query's meanings: `staleTime` 0 refetches on every mount
 * and focus (caching off for freshness); `gcTime` 0 drops an answer as soon as no component
 * uses it (caching off for memory).
 */
export interface CacheOptions {
  /** How long an answer counts as fresh. @default 30000: a list is not refetched on every mount; this client's own writes invalidate what they change at once. */
  staleTime?: number;
  /** How long an unused answer is kept. @default 300000 (TanStack Query's) */
  gcTime?: number;
}

export const DEFAULT_CACHE: Readonly<Required<CacheOptions>> = { staleTime: 30_000, gcTime: 300_000 };

/**
 * Options for `useQuery`, `queryClient.fetchQuery`, `new QueryObserver(…)`. The key is tagged
 * with the data type, so `queryClient.getQueryData(options.queryKey)` is typed.
 */
export interface CqrsQueryOptions<TData, TKey extends QueryKey> {
  queryKey: DataTag<TKey, TData, ProblemError>;
  queryFn: QueryFunction<TData, TKey>;
  staleTime: number;
  gcTime: number;
  retry: (failureCount: number, error: ProblemError) => boolean;
  retryDelay: (failureCount: number, error: ProblemError) => number;
}

/**
 * Options for `useMutation`, `new MutationObserver(…)`. `onSuccess` invalidates what the
 * command changed: to react to a success in a component, pass callbacks to `mutate(variables,
 * { onSuccess })`, which run after it, rather than replacing it. Retries happen inside
 * `mutationFn` (one `Idempotency-Key` for all attempts), so `retry` is false.
 */
export interface CqrsMutationOptions<TData, TVariables> {
  mutationKey: MutationKey;
  mutationFn: (variables: TVariables) => Promise<TData>;
  onSuccess: (
    data: TData,
    variables: TVariables,
    onMutateResult: unknown,
    context: MutationFunctionContext,
  ) => Promise<void>;
  retry: false;
}

/** What the option factories share. */
export interface FactoryContext {
  http: ServiceClients;
  versions: VersionTracker;
  retry: RetryOptions;
  cache: Required<CacheOptions>;
}

export function queryOptions<TData, TKey extends QueryKey>(
  context: FactoryContext,
  queryKey: TKey,
  queryFn: QueryFunction<TData, TKey>,
  cache: CacheOptions = {},
): CqrsQueryOptions<TData, TKey> {
  return {
    queryKey: queryKey as DataTag<TKey, TData, ProblemError>,
    queryFn,
    staleTime: cache.staleTime ?? context.cache.staleTime,
    gcTime: cache.gcTime ?? context.cache.gcTime,
    ...retryPolicy(context.retry),
  };
}

/**
 * A command's options: `send` runs once per attempt with the `mutate` call's idempotency key;
 * `invalidate` says, from the answer, which query key prefixes to invalidate.
 */
export function commandOptions<TData, TVariables extends { idempotencyKey?: string }>(
  context: FactoryContext,
  mutationKey: MutationKey,
  send: (variables: TVariables, idempotencyKey: string) => Promise<TData>,
  invalidate: (data: TData, variables: TVariables, client: QueryClient) => QueryKey[],
): CqrsMutationOptions<TData, TVariables> {
  return {
    mutationKey,
    mutationFn: (variables) => {
      const key = variables.idempotencyKey ?? newIdempotencyKey();
      return withRetries(() => send(variables, key), context.retry);
    },
    onSuccess: async (data, variables, _onMutateResult, { client }) => {
      await Promise.all(invalidate(data, variables, client).map((queryKey) => client.invalidateQueries({ queryKey })));
    },
    retry: false,
  };
}
