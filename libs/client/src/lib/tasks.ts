import type { QueryClient } from '@tanstack/query-core';
import { commandHeaders, unwrap } from './http';
import { taskInvalidations, type TaskChange } from './invalidation';
import { commandOptions, queryOptions, type CacheOptions, type FactoryContext } from './options';
import { mutationKeys, queryKeys, type TaskListParams } from './query-keys';
import type {
  AbandonTaskVariables,
  CreateTaskVariables,
  PatchTaskVariables,
  RenameTaskVariables,
  TaskCommandResult,
  TaskVariables,
  TaskView,
} from './types';

/** The query and mutation option factories of tasks; see {@link CqrsClient.tasks}. */
export function taskOptionFactories(context: FactoryContext) {
  const { http, versions } = context;
  /** X-Min-Version for a list or statistics read: this client's newest task writes. */
  const listHeader = () => {
    const requirements = versions.requirements('task');
    return requirements === undefined ? undefined : { 'X-Min-Version': requirements };
  };
  const recorded = async (call: Promise<{ data: TaskCommandResult }>) => {
    const { data } = await call;
    versions.record('task', data.taskId, data.version);
    return data;
  };
  /** The task's owner, if its view is in the cache: whose lists an admin's command changes too. */
  const ownerOf = (client: QueryClient, taskId: string) =>
    client.getQueryData<TaskView>(queryKeys.tasks.detail(taskId))?.ownerId;
  const onTask = <V extends TaskVariables>(
    change: Exclude<TaskChange, 'create' | 'patch'>,
    send: (variables: V, key: string) => Promise<TaskCommandResult>,
  ) =>
    commandOptions<TaskCommandResult, V>(context, mutationKeys.tasks[change], send, (data, _v, client) =>
      taskInvalidations(change, data.taskId, ownerOf(client, data.taskId)),
    );
  const patch = <V extends PatchTaskVariables | RenameTaskVariables>(
    body: (variables: V) => PatchTaskVariables['changes'],
  ) =>
    commandOptions<TaskCommandResult, V>(
      context,
      mutationKeys.tasks.patch,
      (variables, key) =>
        recorded(
          unwrap(
            http.commands.PATCH('/tasks/{id}', {
              params: { path: { id: variables.id } },
              headers: commandHeaders(variables, key),
              body: body(variables),
            }),
          ),
        ),
      (data, _v, client) => taskInvalidations('patch', data.taskId, ownerOf(client, data.taskId)),
    );
  const transition = (path: '/tasks/{id}/start' | '/tasks/{id}/complete') => (variables: TaskVariables, key: string) =>
    recorded(
      unwrap(
        http.commands.POST(path, { params: { path: { id: variables.id } }, headers: commandHeaders(variables, key) }),
      ),
    );

  return {
    /** `GET /tasks/{id}`, reading this client's own last write of it (`X-Min-Version`). */
    detail: (taskId: string, cache?: CacheOptions) =>
      queryOptions(
        context,
        queryKeys.tasks.detail(taskId),
        async ({ signal }): Promise<TaskView> => {
          const min = versions.minVersion('task', taskId);
          const { data } = await unwrap(
            http.queries.GET('/tasks/{id}', {
              params: { path: { id: taskId } },
              headers: min === undefined ? undefined : { 'X-Min-Version': String(min) },
              signal,
            }),
          );
          return data;
        },
        cache,
      ),
    /** `GET /me/tasks`: one page of the caller's tasks, newest first. */
    myList: (params?: TaskListParams, cache?: CacheOptions) =>
      queryOptions(
        context,
        queryKeys.tasks.myList(params),
        async ({ signal }) =>
          (await unwrap(http.queries.GET('/me/tasks', { params: { query: params }, headers: listHeader(), signal })))
            .data,
        cache,
      ),
    /** `GET /users/{userId}/tasks`: another user's tasks (admin role), or one's own. */
    userList: (userId: string, params?: TaskListParams, cache?: CacheOptions) =>
      queryOptions(
        context,
        queryKeys.tasks.userList(userId, params),
        async ({ signal }) =>
          (
            await unwrap(
              http.queries.GET('/users/{userId}/tasks', {
                params: { path: { userId }, query: params },
                headers: listHeader(),
                signal,
              }),
            )
          ).data,
        cache,
      ),
    /** `GET /me/stats`: counts per status and completion rate of the caller's tasks. */
    myStats: (cache?: CacheOptions) =>
      queryOptions(
        context,
        queryKeys.tasks.myStats(),
        async ({ signal }) => (await unwrap(http.queries.GET('/me/stats', { headers: listHeader(), signal }))).data,
        cache,
      ),
    /** `GET /users/{userId}/stats` (admin role, or one's own). */
    userStats: (userId: string, cache?: CacheOptions) =>
      queryOptions(
        context,
        queryKeys.tasks.userStats(userId),
        async ({ signal }) =>
          (
            await unwrap(
              http.queries.GET('/users/{userId}/stats', {
                params: { path: { userId } },
                headers: listHeader(),
                signal,
              }),
            )
          ).data,
        cache,
      ),

    /** `POST /tasks`; the caller owns the new task. */
    create: () =>
      commandOptions<TaskCommandResult, CreateTaskVariables>(
        context,
        mutationKeys.tasks.create,
        ({ idempotencyKey: _key, ...body }, key) =>
          recorded(unwrap(http.commands.POST('/tasks', { headers: commandHeaders({}, key), body }))),
        (data) => taskInvalidations('create', data.taskId),
      ),
    /** `PATCH /tasks/{id}`: title, description, dueDate (null clears the last two). */
    patch: () => patch<PatchTaskVariables>((variables) => variables.changes),
    /** `PATCH /tasks/{id}` with a new title. */
    rename: () => patch<RenameTaskVariables>((variables) => ({ title: variables.title })),
    /** `POST /tasks/{id}/start`. */
    start: () => onTask<TaskVariables>('start', transition('/tasks/{id}/start')),
    /** `POST /tasks/{id}/complete`. */
    complete: () => onTask<TaskVariables>('complete', transition('/tasks/{id}/complete')),
    /** `POST /tasks/{id}/abandon` with a reason. */
    abandon: () =>
      onTask<AbandonTaskVariables>('abandon', (variables, key) =>
        recorded(
          unwrap(
            http.commands.POST('/tasks/{id}/abandon', {
              params: { path: { id: variables.id } },
              headers: commandHeaders(variables, key),
              body: { reason: variables.reason },
            }),
          ),
        ),
      ),
    /** `DELETE /tasks/{id}`. */
    delete: () =>
      onTask<TaskVariables>('delete', (variables, key) =>
        recorded(
          unwrap(
            http.commands.DELETE('/tasks/{id}', {
              params: { path: { id: variables.id } },
              headers: commandHeaders(variables, key),
            }),
          ),
        ),
      ),
  };
}

export type TaskOptionFactories = ReturnType<typeof taskOptionFactories>;
