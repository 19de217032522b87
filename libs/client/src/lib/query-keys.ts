/**
 * The query keys, as hierarchical tuples: a prefix names everything under it, so
 * `invalidateQueries({ queryKey: queryKeys.tasks.lists() })` reaches every task list, and
 * `queryKeys.tasks.all` everything about tasks. Parameters come last, as one object without its
 * `undefined` members (so `{}` and `{ status: undefined }` are the same query).
 */

/** `GET /me/tasks` and `GET /users/{userId}/tasks` parameters (the page). */
export interface TaskListParams {
  status?: 'open' | 'started' | 'completed' | 'abandoned';
  /** Page size, 1-100. @default 20 (the service's) */
  limit?: number;
  /** The previous page's `nextCursor`. */
  cursor?: string;
}

/** `GET /me/projects` parameters. */
export interface ProjectListParams {
  /** @default 50 (the service's) */
  limit?: number;
}

/** Dead-letter list filter (admin API). */
export interface DeadLetterFilter {
  projection?: string;
  streamId?: string;
  limit?: number;
}

/** `params` without its undefined members, so that equal filters hash the same. */
function defined<T extends object>(params: T | undefined): T {
  return Object.fromEntries(Object.entries(params ?? {}).filter(([, value]) => value !== undefined)) as T;
}

export const queryKeys = {
  tasks: {
    all: ['tasks'] as const,
    details: () => ['tasks', 'detail'] as const,
    detail: (taskId: string) => ['tasks', 'detail', taskId] as const,
    lists: () => ['tasks', 'list'] as const,
    /** Every page and filter of the caller's own list. */
    myLists: () => ['tasks', 'list', 'me'] as const,
    myList: (params?: TaskListParams) => ['tasks', 'list', 'me', defined(params)] as const,
    userLists: (userId: string) => ['tasks', 'list', 'user', userId] as const,
    userList: (userId: string, params?: TaskListParams) => ['tasks', 'list', 'user', userId, defined(params)] as const,
    stats: () => ['tasks', 'stats'] as const,
    myStats: () => ['tasks', 'stats', 'me'] as const,
    userStats: (userId: string) => ['tasks', 'stats', 'user', userId] as const,
  },
  projects: {
    all: ['projects'] as const,
    details: () => ['projects', 'detail'] as const,
    detail: (projectId: string) => ['projects', 'detail', projectId] as const,
    lists: () => ['projects', 'list'] as const,
    myLists: () => ['projects', 'list', 'me'] as const,
    myList: (params?: ProjectListParams) => ['projects', 'list', 'me', defined(params)] as const,
  },
  admin: {
    all: ['admin'] as const,
    projections: () => ['admin', 'projections'] as const,
    projectionList: () => ['admin', 'projections', 'list'] as const,
    projectionDetails: () => ['admin', 'projections', 'detail'] as const,
    projection: (name: string) => ['admin', 'projections', 'detail', name] as const,
    rebuild: (name: string) => ['admin', 'projections', 'rebuild', name] as const,
    deadLetters: () => ['admin', 'dead-letters'] as const,
    deadLetterLists: () => ['admin', 'dead-letters', 'list'] as const,
    deadLetterList: (filter?: DeadLetterFilter) => ['admin', 'dead-letters', 'list', defined(filter)] as const,
    deadLetter: (id: number) => ['admin', 'dead-letters', 'detail', id] as const,
    reconciliation: () => ['admin', 'reconciliations', 'latest'] as const,
    relay: () => ['admin', 'relay'] as const,
  },
} as const;

/** The mutation keys (for `useIsMutating`, `useMutationState`). */
export const mutationKeys = {
  tasks: {
    create: ['tasks', 'create'] as const,
    patch: ['tasks', 'patch'] as const,
    start: ['tasks', 'start'] as const,
    complete: ['tasks', 'complete'] as const,
    abandon: ['tasks', 'abandon'] as const,
    delete: ['tasks', 'delete'] as const,
  },
  projects: {
    create: ['projects', 'create'] as const,
    rename: ['projects', 'rename'] as const,
    archive: ['projects', 'archive'] as const,
    addTask: ['projects', 'add-task'] as const,
  },
  admin: {
    pause: ['admin', 'pause'] as const,
    resume: ['admin', 'resume'] as const,
    startRebuild: ['admin', 'start-rebuild'] as const,
    cancelRebuild: ['admin', 'cancel-rebuild'] as const,
    redrive: ['admin', 'redrive'] as const,
    discard: ['admin', 'discard'] as const,
    reconcile: ['admin', 'reconcile'] as const,
  },
} as const;
