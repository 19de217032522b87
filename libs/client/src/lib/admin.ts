import type { MutationKey, QueryClient, QueryKey } from '@tanstack/query-core';
import type { Client } from 'openapi-fetch';
import type { components, paths } from '../generated/admin';
import { unwrap } from './http';
import { adminInvalidations, type AdminChange } from './invalidation';
import { queryOptions, type CacheOptions, type CqrsMutationOptions, type FactoryContext } from './options';
import { mutationKeys, queryKeys, type DeadLetterFilter } from './query-keys';

type Schemas = components['schemas'];
export type Projection = Schemas['ProjectionDto'];
export type ProjectionList = Schemas['ProjectionListDto'];
export type Rebuild = Schemas['RebuildDto'];
export type RebuildSource = Schemas['RebuildSource'];
export type DeadLetter = Schemas['DeadLetterDto'];
export type DeadLetterList = Schemas['DeadLetterListDto'];
export type DeadLetterDetail = Schemas['DeadLetterDetailDto'];
export type RedriveResult = Schemas['RedriveResultDto'];
export type DiscardResult = Schemas['DiscardResultDto'];
export type Reconciliation = Schemas['ReconciliationDto'];
export type StartReconciliationBody = Schemas['StartReconciliationDto'];
export type RelayStatus = Schemas['RelayDto'];

/**
 * The admin API's paths relative to its base (`/admin/cqrs` on the projector): a console proxies
 * `/api/admin` to it, so the client never names the prefix.
 */
export type AdminPaths = {
  [P in keyof paths as P extends `/admin/cqrs${infer Rest}` ? Rest : never]: paths[P];
};

/** Admin views change under operations nobody here sent (lag, a rebuild's progress): fresh for 2 s. */
const ADMIN_STALE_TIME = 2_000;

/**
 * The query and mutation option factories of the projector's admin API (admin role); see
 * {@link CqrsClient.admin}. Its commands are sent once: a rebuild or a reconciliation is not
 * repeat-safe, and its answers are quick.
 */
export function adminOptionFactories(context: FactoryContext, admin: () => Client<AdminPaths>) {
  const query = <T, K extends QueryKey>(
    key: K,
    fetch: (signal: AbortSignal) => Promise<{ data: T }>,
    cache?: CacheOptions,
  ) =>
    queryOptions<T, K>(context, key, async ({ signal }) => (await fetch(signal)).data, {
      staleTime: ADMIN_STALE_TIME,
      ...cache,
    });
  const command = <T, V>(
    mutationKey: MutationKey,
    send: (variables: V) => Promise<{ data: T }>,
    change: (variables: V) => AdminChange,
  ): CqrsMutationOptions<T, V> => ({
    mutationKey,
    mutationFn: async (variables) => (await send(variables)).data,
    onSuccess: async (_data, variables, _onMutateResult, { client }: { client: QueryClient }) => {
      await Promise.all(
        adminInvalidations(change(variables)).map((queryKey) => client.invalidateQueries({ queryKey })),
      );
    },
    retry: false,
  });
  const name = (projection: string) => ({ params: { path: { name: projection } } });
  const id = (deadLetterId: number) => ({ params: { path: { id: String(deadLetterId) } } });

  return {
    /** `GET /projections`: every projection with its state, lag and parked records. */
    projections: (cache?: CacheOptions) =>
      query(queryKeys.admin.projectionList(), (signal) => unwrap(admin().GET('/projections', { signal })), cache),
    /** `GET /projections/{name}`. */
    projection: (projection: string, cache?: CacheOptions) =>
      query(
        queryKeys.admin.projection(projection),
        (signal) => unwrap(admin().GET('/projections/{name}', { ...name(projection), signal })),
        cache,
      ),
    /** `GET /projections/{name}/rebuilds/current`: the running (or last) rebuild's progress; 404 when none. */
    currentRebuild: (projection: string, cache?: CacheOptions) =>
      query(
        queryKeys.admin.rebuild(projection),
        (signal) => unwrap(admin().GET('/projections/{name}/rebuilds/current', { ...name(projection), signal })),
        cache,
      ),
    /** `GET /dead-letters`: parked records, by projection or stream. */
    deadLetters: (filter?: DeadLetterFilter, cache?: CacheOptions) =>
      query(
        queryKeys.admin.deadLetterList(filter),
        (signal) => unwrap(admin().GET('/dead-letters', { params: { query: filter }, signal })),
        cache,
      ),
    /** `GET /dead-letters/{id}`: one parked record with its payload. */
    deadLetter: (deadLetterId: number, cache?: CacheOptions) =>
      query(
        queryKeys.admin.deadLetter(deadLetterId),
        (signal) => unwrap(admin().GET('/dead-letters/{id}', { ...id(deadLetterId), signal })),
        cache,
      ),
    /** `GET /reconciliations/latest`. */
    latestReconciliation: (cache?: CacheOptions) =>
      query(
        queryKeys.admin.reconciliation(),
        (signal) => unwrap(admin().GET('/reconciliations/latest', { signal })),
        cache,
      ),
    /** `GET /relay`: the outbox relay's replication slot and leader. */
    relay: (cache?: CacheOptions) =>
      query(queryKeys.admin.relay(), (signal) => unwrap(admin().GET('/relay', { signal })), cache),

    /** `POST /projections/{name}/pause`. */
    pause: () =>
      command<Projection, { name: string }>(
        mutationKeys.admin.pause,
        (v) => unwrap(admin().POST('/projections/{name}/pause', name(v.name))),
        (v) => ({ kind: 'pause', projection: v.name }),
      ),
    /** `POST /projections/{name}/resume`. */
    resume: () =>
      command<Projection, { name: string }>(
        mutationKeys.admin.resume,
        (v) => unwrap(admin().POST('/projections/{name}/resume', name(v.name))),
        (v) => ({ kind: 'resume', projection: v.name }),
      ),
    /** `POST /projections/{name}/rebuilds` (202): 409 while one runs. */
    startRebuild: () =>
      command<Rebuild, { name: string; source?: RebuildSource }>(
        mutationKeys.admin.startRebuild,
        (v) =>
          unwrap(
            admin().POST('/projections/{name}/rebuilds', {
              ...name(v.name),
              body: v.source === undefined ? {} : { source: v.source },
            }),
          ),
        (v) => ({ kind: 'startRebuild', projection: v.name }),
      ),
    /** `DELETE /projections/{name}/rebuilds/current`. */
    cancelRebuild: () =>
      command<Rebuild, { name: string }>(
        mutationKeys.admin.cancelRebuild,
        (v) => unwrap(admin().DELETE('/projections/{name}/rebuilds/current', name(v.name))),
        (v) => ({ kind: 'cancelRebuild', projection: v.name }),
      ),
    /** `POST /dead-letters/{id}/redrive`, optionally with a corrected value. */
    redrive: () =>
      command<RedriveResult, { id: number; value?: string }>(
        mutationKeys.admin.redrive,
        (v) =>
          unwrap(
            admin().POST('/dead-letters/{id}/redrive', {
              ...id(v.id),
              body: v.value === undefined ? {} : { value: v.value },
            }),
          ),
        (v) => ({ kind: 'redrive', deadLetterId: v.id }),
      ),
    /** `DELETE /dead-letters/{id}`: discards a parked record. */
    discard: () =>
      command<DiscardResult, { id: number }>(
        mutationKeys.admin.discard,
        (v) => unwrap(admin().DELETE('/dead-letters/{id}', id(v.id))),
        (v) => ({ kind: 'discard', deadLetterId: v.id }),
      ),
    /** `POST /reconciliations` (202). */
    reconcile: () =>
      command<Reconciliation, StartReconciliationBody>(
        mutationKeys.admin.reconcile,
        (v) => unwrap(admin().POST('/reconciliations', { body: v })),
        () => ({ kind: 'reconcile' }),
      ),
  };
}

export type AdminOptionFactories = ReturnType<typeof adminOptionFactories>;
