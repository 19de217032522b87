import type {
  StreamChangedNotice,
  TaskPage,
  TaskReadRepository,
  TaskView,
  UserTaskStats,
  ListableStatus,
} from '@cqrs/tasks-read-model';
import { cqrsMetric, withSpan } from '@cqrs/observability';
import { DomainError, isDomainError } from '@cqrs/util';
import { cacheStatus, QueryCache, type CacheOutcome, type CachePolicy } from '../cache/query-cache';
import type { VersionRequirement } from '../consistency/min-version';
import type { VersionWaiter } from '../consistency/version-waiter';

/** Who reads: a task is only visible to its owner, or to an admin. */
export interface Reader {
  subject: string;
  admin: boolean;
}

/** Whose tasks a read-your-writes wait may see: the reader's own, or all for an admin. */
const visibleTo = (reader: Reader): string | undefined => (reader.admin ? undefined : reader.subject);

/** An answer and how it was produced (for the Cache-Status header and logs). */
export interface QueryAnswer<T> {
  value: T;
  cache: CacheOutcome | 'bypass';
  waitedMs: number;
}

export interface TaskQueriesOptions {
  task: CachePolicy;
  taskList: CachePolicy;
  userStats: CachePolicy;
}

/** The query types, as named in spans (`query.<Type>`), metrics and logs. */
export type QueryType = 'GetTask' | 'ListUserTasks' | 'GetUserStats';

/** Where per-query log lines go (pino's signature); one info line per query, like the command side's. */
export interface QueryLogger {
  info(details: object, message: string): void;
}

const queries = cqrsMetric('cqrs_query_total');
const durations = cqrsMetric('cqrs_query_duration_ms');

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
    const { waitedMs } = await this.waiter.waitFor(requirements, visibleTo(reader));
    const load = async () => (await this.repository.findTask(taskId)) ?? null;
    let answer: { value: TaskView | null; cache: CacheOutcome | 'bypass' } = await this.taskCache
      .get(taskId, load)
      .then((a) => ({ value: a.value, cache: a.outcome }));
    const required = requirements.find((r) => r.streamId === taskId)?.version ?? 0;
    if ((answer.value?.version ?? 0) < required) {
      // The cache may hold a read from just before the change whose NOTIFY is still on its way.
      // The fresh read is not stored: a newer change's invalidation may already have passed.
      answer = { value: await load(), cache: 'bypass' };
    }
    const visible = answer.value && (reader.admin || answer.value.ownerId === reader.subject) ? answer.value : null;
    if (!visible || visible.status === 'deleted') {
      const notFound = new DomainError(
        'TASK_NOT_FOUND',
        'not_found',
        visible ? `task ${taskId} was deleted` : `task ${taskId} does not exist`,
        {
          details: { taskId },
        },
      );
      // The problem+json filter copies `headers`: a cached 404 says so like a cached 200.
      throw Object.assign(notFound, { headers: { 'Cache-Status': cacheStatus(answer.cache) } });
    }
    return { value: visible, cache: answer.cache, waitedMs };
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
      this.read(
        this.listCache,
        key,
        ownerId,
        () => this.repository.listUserTasks(ownerId, query),
        reader,
        requirements,
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
      this.read(this.statsCache, ownerId, ownerId, () => this.repository.userStats(ownerId), reader, requirements),
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
  private async observe<T>(
    type: QueryType,
    cacheKey: string,
    run: () => Promise<QueryAnswer<T>>,
  ): Promise<QueryAnswer<T>> {
    const started = performance.now();
    const result = await withSpan(
      `query.${type}`,
      async (span): Promise<{ answer: QueryAnswer<T> } | { rejected: unknown }> => {
        let hit: boolean;
        let outcome: { answer: QueryAnswer<T> } | { rejected: unknown };
        try {
          const answer = await run();
          hit = answer.cache === 'hit' || answer.cache === 'stale';
          span.setAttributes({
            'cqrs.cache.outcome': answer.cache,
            'cqrs.read_your_writes.waited_ms': answer.waitedMs,
          });
          outcome = { answer };
        } catch (error) {
          // An answer the client caused (404, 400) is not a failed span; anything else is.
          if (!isDomainError(error) || (error.kind !== 'not_found' && error.kind !== 'validation')) throw error;
          // A cached 404 is a hit too; its Cache-Status says so.
          hit = /; hit/.test((error as { headers?: Record<string, string> }).headers?.['Cache-Status'] ?? '');
          span.setAttribute('cqrs.error.code', error.code);
          outcome = { rejected: error };
        }
        span.setAttribute('cqrs.cache.hit', hit);
        const durationMs = performance.now() - started;
        queries.inc({ type, cache_hit: String(hit) });
        durations.observe({ type, cache_hit: String(hit) }, durationMs);
        this.logger?.info(
          {
            bus: 'query',
            type,
            handler: 'TaskQueries',
            cache_key: cacheKey,
            cache_hit: hit,
            duration_ms: Math.round(durationMs * 10) / 10,
            ...('rejected' in outcome ? { error_code: (outcome.rejected as { code?: string }).code } : {}),
          },
          `${type} answered`,
        );
        return outcome;
      },
      { attributes: { 'cqrs.query.type': type, 'cqrs.cache.key': cacheKey } },
    );
    if ('rejected' in result) throw result.rejected;
    return result.answer;
  }

  private async read<T>(
    cache: QueryCache<T>,
    key: string,
    ownerId: string,
    load: () => Promise<T>,
    reader: Reader,
    requirements: readonly VersionRequirement[],
  ): Promise<QueryAnswer<T>> {
    const { waitedMs } = await this.waiter.waitFor(requirements, visibleTo(reader));
    if (requirements.length > 0) {
      // Whether a cached list already includes the awaited change cannot be told from the
      // list, so a read-your-writes query reads the database (and leaves the cache alone).
      return { value: await load(), cache: 'bypass', waitedMs };
    }
    const { value, outcome } = await cache.get(key, load, { tag: ownerId });
    return { value, cache: outcome, waitedMs };
  }
}
