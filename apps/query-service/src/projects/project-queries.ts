import type { ProjectReader, ProjectView } from '@cqrs/projects-read-model';
import type { StreamChange } from '@cqrs/projection';
import { DomainError } from '@cqrs/util';
import {
  observeQuery,
  QueryCache,
  readOwnedView,
  visibleTo,
  withCacheStatus,
  type CachePolicy,
  type QueryAnswer,
  type QueryLogger,
  type Reader,
  type VersionRequirement,
  type VersionWaiter,
} from '../queries';

/**
 * The projects queries. Cache semantics: a policy with a cache time caches a project by id and
 * drops it when its stream changes; but a project's progress also moves with the tasks context's
 * events, which no project version names, so the projects module runs with the cache off
 * (`cacheMs: 0`): every read is current. Lists are never cached. Read-your-writes waits on the
 * projects projection's NOTIFY (`projects_changed`).
 */
export class ProjectQueries {
  private readonly cache: QueryCache<ProjectView | null>;

  constructor(
    private readonly reader: ProjectReader,
    private readonly waiter: VersionWaiter,
    policy: CachePolicy,
    private readonly logger?: QueryLogger,
  ) {
    this.cache = new QueryCache('project', policy, (v) => v === null);
  }

  project(projectId: string, reader: Reader, requirements: readonly VersionRequirement[] = []) {
    return observeQuery(
      { type: 'GetProject', handler: 'ProjectQueries', cacheKey: `project:${projectId}`, logger: this.logger },
      async (): Promise<QueryAnswer<ProjectView>> => {
        const answer = await readOwnedView(
          { waiter: this.waiter, reader, requirements },
          {
            cache: this.cache,
            streamId: projectId,
            load: () => this.reader.get(projectId),
            ownerOf: (p) => p.ownerId,
          },
        );
        if (!answer.value)
          throw withCacheStatus(
            new DomainError('PROJECT_NOT_FOUND', 'not_found', `project ${projectId} does not exist`, {
              details: { projectId },
            }),
            answer.cache,
          );
        return { ...answer, value: answer.value };
      },
    );
  }

  myProjects(reader: Reader & { subject: string }, limit: number, requirements: readonly VersionRequirement[] = []) {
    return observeQuery(
      { type: 'ListProjects', handler: 'ProjectQueries', cacheKey: `projects:${reader.subject}`, logger: this.logger },
      async (): Promise<QueryAnswer<{ items: ProjectView[] }>> => {
        const { waitedMs } = await this.waiter.waitFor(requirements, visibleTo(reader));
        return { value: { items: await this.reader.listByOwner(reader.subject, limit) }, cache: 'off', waitedMs };
      },
    );
  }

  /** The projects projection committed these versions: drop outdated views, wake waiters. */
  onChanges(changes: readonly StreamChange[]): void {
    for (const c of changes) this.cache.deleteUnlessCurrent(c.streamId, (p) => p !== null && p.version >= c.version);
    for (const c of changes) this.waiter.notify(c.streamId, c.version);
  }

  /** Changes may have been missed: start over. */
  onReset(): void {
    this.cache.clear();
    this.waiter.recheckAll();
  }
}
