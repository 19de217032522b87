import { commandHeaders, unwrap } from './http';
import { projectInvalidations, type ProjectChange } from './invalidation';
import { commandOptions, queryOptions, type CacheOptions, type FactoryContext } from './options';
import { mutationKeys, queryKeys, type ProjectListParams } from './query-keys';
import type {
  AddTaskToProjectVariables,
  CreateProjectVariables,
  ProjectCommandResult,
  ProjectVariables,
  ProjectView,
  RenameProjectVariables,
} from './types';

/** The query and mutation option factories of projects; see {@link CqrsClient.projects}. */
export function projectOptionFactories(context: FactoryContext) {
  const { http, versions } = context;
  const recorded = async (call: Promise<{ data: ProjectCommandResult }>) => {
    const { data } = await call;
    versions.record('project', data.projectId, data.version);
    return data;
  };
  const command = <V extends { idempotencyKey?: string }>(
    change: ProjectChange,
    send: (variables: V, key: string) => Promise<{ data: ProjectCommandResult }>,
  ) =>
    commandOptions<ProjectCommandResult, V>(
      context,
      mutationKeys.projects[change],
      (variables, key) => recorded(send(variables, key)),
      (data) => projectInvalidations(change, data.projectId),
    );

  return {
    /** `GET /projects/{id}`: the project and its tasks' progress, reading this client's own last write of it. */
    detail: (projectId: string, cache?: CacheOptions) =>
      queryOptions(
        context,
        queryKeys.projects.detail(projectId),
        async ({ signal }): Promise<ProjectView> => {
          const min = versions.minVersion('project', projectId);
          const { data } = await unwrap(
            http.queries.GET('/projects/{id}', {
              params: { path: { id: projectId } },
              headers: min === undefined ? undefined : { 'X-Min-Version': String(min) },
              signal,
            }),
          );
          return data;
        },
        cache,
      ),
    /** `GET /me/projects`: the caller's projects, most recently changed first. */
    myList: (params?: ProjectListParams, cache?: CacheOptions) =>
      queryOptions(
        context,
        queryKeys.projects.myList(params),
        async ({ signal }) => {
          const requirements = versions.requirements('project');
          const { data } = await unwrap(
            http.queries.GET('/me/projects', {
              params: { query: params },
              headers: requirements === undefined ? undefined : { 'X-Min-Version': requirements },
              signal,
            }),
          );
          return data;
        },
        cache,
      ),

    /** `POST /projects`; the caller owns the new project. */
    create: () =>
      command<CreateProjectVariables>('create', ({ idempotencyKey: _key, ...body }, key) =>
        unwrap(http.commands.POST('/projects', { headers: commandHeaders({}, key), body })),
      ),
    /** `POST /projects/{id}/rename`. */
    rename: () =>
      command<RenameProjectVariables>('rename', (variables, key) =>
        unwrap(
          http.commands.POST('/projects/{id}/rename', {
            params: { path: { id: variables.id } },
            headers: commandHeaders(variables, key),
            body: { name: variables.name },
          }),
        ),
      ),
    /** `POST /projects/{id}/archive`. */
    archive: () =>
      command<ProjectVariables>('archive', (variables, key) =>
        unwrap(
          http.commands.POST('/projects/{id}/archive', {
            params: { path: { id: variables.id } },
            headers: commandHeaders(variables, key),
          }),
        ),
      ),
    /** `POST /projects/{id}/tasks`: adds a task to the project. */
    addTask: () =>
      command<AddTaskToProjectVariables>('addTask', (variables, key) =>
        unwrap(
          http.commands.POST('/projects/{id}/tasks', {
            params: { path: { id: variables.id } },
            headers: commandHeaders(variables, key),
            body: { taskId: variables.taskId },
          }),
        ),
      ),
  };
}

export type ProjectOptionFactories = ReturnType<typeof projectOptionFactories>;
