import type {
  StreamChangedNotice,
  TaskPage,
  TaskReadRepository,
  TaskView,
  UserTaskStats,
  ListableStatus,
} from '@cqrs/tasks-read-model';
import { DomainError } from '@cqrs/util';
import {
  observeQuery,
  QueryCache,
  readCached,
  readOwnedView,
  withCacheStatus,
  type CachePolicy,
  type QueryAnswer,
  type QueryLogger,
  type Reader,
  type VersionRequirement,
  type VersionWaiter,
} from '../queries';

export type { QueryAnswer, QueryLogger, Reader } from '../queries';

export interface TaskQueriesOptions {
  task: CachePolicy;
  taskList: CachePolicy;
  userStats: CachePolicy;
}

/** The query types, as named in spans (`query.<Type>`), metrics and logs. */
export type QueryType = 'GetTask' | 'ListUserTasks' | 'GetUserStats';

/**
 * The three queries of the tasks read side, each behind its own cache, with read-your-writes:
 * given version requirements, a query first waits for the read model to reach them and then
 * reads past any cache entry that could predate them.
 */
export class TaskQueries {
  readonly taskCache: QueryCache<TaskView | null>;
  readonly listCache: QueryCache<TaskPage>;
  readonly statsCache: QueryCache<UserTaskStats>;

  constructor(
    private readonly repository: TaskReadRepository,
    private readonly waiter: VersionWaiter,
    options: TaskQueriesOptions,
    private readonly logger?: QueryLogger,
  ) {
    this.taskCache = new QueryCache('task', options.task, (v) => v === null);
    this.listCache = new QueryCache('task_list', options.taskList, (v) => v.items.length === 0);
    this.statsCache = new QueryCache('user_stats', options.userStats, (v) => v.total === 0 && v.deleted === 0);
  }

  /**
   * A task's details, for its owner or an admin.
   * @throws {DomainError} TASK_NOT_FOUND (404) for an unknown or deleted task, and for someone
   *   else's task (worded as an unknown one: ids cannot be probed)
   */
  task(
    taskId: string,
    reader: Reader,
    requirements: readonly VersionRequirement[] = [],
  ): Promise<QueryAnswer<TaskView>> {
    return this.observe('GetTask', `task:${taskId}`, () => this.readTask(taskId, reader, requirements));
  }

  private async readTask(
    taskId: string,
    reader: Reader,
    requirements: readonly VersionRequirement[],
  ): Promise<QueryAnswer<TaskView>> {
    const answer = await readOwnedView(
      { waiter: this.waiter, reader, requirements },
      {
        cache: this.taskCache,
        streamId: taskId,
        load: async () => (await this.repository.findTask(taskId)) ?? null,
        ownerOf: (task) => task.ownerId,
      },
    );
    const task = answer.value;
    if (!task || task.status === 'deleted') {
      const message = task ? `task ${taskId} was deleted` : `task ${taskId} does not exist`;
      throw withCacheStatus(
        new DomainError('TASK_NOT_FOUND', 'not_found', message, { details: { taskId } }),
        answer.cache,
      );
    }
    return { ...answer, value: task };
  }

  /** A page of a user's tasks, newest first (who may ask is the caller's business: see the controller). */
  async userTasks(
    ownerId: string,
    query: { status?: ListableStatus; limit: number; cursor?: string },
    reader: Reader,
    requirements: readonly VersionRequirement[] = [],
  ): Promise<QueryAnswer<TaskPage>> {
    const key = JSON.stringify([ownerId, query.status ?? null, query.limit, query.cursor ?? null]);
    return this.observe('ListUserTasks', `tasks:${key}`, () =>
      readCached(
        { waiter: this.waiter, reader, requirements },
        { cache: this.listCache, key, tag: ownerId, load: () => this.repository.listUserTasks(ownerId, query) },
      ),
    );
  }

  /** A user's statistics. */
  async userStats(
    ownerId: string,
    reader: Reader,
    requirements: readonly VersionRequirement[] = [],
  ): Promise<QueryAnswer<UserTaskStats>> {
    return this.observe('GetUserStats', `stats:${ownerId}`, () =>
      readCached(
        { waiter: this.waiter, reader, requirements },
        { cache: this.statsCache, key: ownerId, tag: ownerId, load: () => this.repository.userStats(ownerId) },
      ),
    );
  }

  /** The projector committed changes: drop what they make outdated, wake who waits for them. */
  onChanges(changes: readonly StreamChangedNotice[]): void {
    for (const change of changes) {
      this.taskCache.deleteUnlessCurrent(change.streamId, (task) => task !== null && task.version >= change.version);
      this.listCache.deleteTag(change.ownerId);
      this.statsCache.delete(change.ownerId);
    }
    for (const change of changes) this.waiter.notify(change.streamId, change.version);
  }

  /** Changes may have been missed, or another generation answers now: start over. */
  onReset(): void {
    this.taskCache.clear();
    this.listCache.clear();
    this.statsCache.clear();
    this.waiter.recheckAll();
  }

  /** A `query.<Type>` span, `cqrs_query_total` / `cqrs_query_duration_ms`, and a log line. */
  private observe<T>(type: QueryType, cacheKey: string, run: () => Promise<QueryAnswer<T>>): Promise<QueryAnswer<T>> {
    return observeQuery({ type, handler: 'TaskQueries', cacheKey, logger: this.logger }, run);
  }
}
