import type { TaskReadRepository, TaskView } from '@cqrs/tasks-read-model';
import { VersionWaiter } from '../consistency/version-waiter';
import { TaskQueries } from './task-queries';

const policy = { freshMs: 60_000, cacheMs: 60_000, emptyMs: 60_000, maxEntries: 100 };
const view = (version: number, status: TaskView['status'] = 'open'): TaskView =>
  ({ taskId: 't', ownerId: 'u', title: `v${version}`, status, version }) as TaskView;

const owner = { subject: 'u', admin: false };

function setup() {
  const db = { task: view(1) as TaskView | undefined, version: 1, reads: 0 };
  const repository = {
    findTask: async () => {
      db.reads++;
      return db.task;
    },
    streamVersions: async (ids: string[]) => new Map(ids.map((id) => [id, db.version])),
  } as unknown as TaskReadRepository;
  const waiter = new VersionWaiter((ids) => repository.streamVersions(ids), 500);
  const queries = new TaskQueries(repository, waiter, { task: policy, taskList: policy, userStats: policy });
  return { db, queries };
}

describe('TaskQueries', () => {
  it('reads past a cached view older than the required version, even before the NOTIFY arrives', async () => {
    const { db, queries } = setup();
    expect((await queries.task('t', owner)).value.version).toBe(1); // cached at v1
    db.task = view(2);
    db.version = 2; // committed; its notification has not been delivered yet
    const answer = await queries.task('t', owner, [{ streamId: 't', version: 2 }]);
    expect(answer).toMatchObject({ value: { version: 2 }, cache: 'bypass' });
  });

  it('answers from the cache when the cached view already reflects the required version', async () => {
    const { db, queries } = setup();
    await queries.task('t', owner);
    const answer = await queries.task('t', owner, [{ streamId: 't', version: 1 }]);
    expect(answer.cache).toBe('hit');
    expect(db.reads).toBe(1);
  });

  it('drops the task, the owner’s lists and stats on a change notice', async () => {
    const { db, queries } = setup();
    await queries.task('t', owner);
    db.task = view(2, 'started');
    queries.onChanges([{ streamId: 't', version: 2, ownerId: 'u' }]);
    expect((await queries.task('t', owner)).value.status).toBe('started');
  });

  it('keeps a cached task that already holds the version a late change notice announces', async () => {
    const { db, queries } = setup();
    db.task = view(2);
    await queries.task('t', owner); // read after the commit, before its NOTIFY arrived
    queries.onChanges([{ streamId: 't', version: 2, ownerId: 'u' }]);
    expect((await queries.task('t', owner)).cache).toBe('hit');
    expect(db.reads).toBe(1);
  });

  it('answers 404 TASK_NOT_FOUND for a deleted task', async () => {
    const { db, queries } = setup();
    db.task = view(3, 'deleted');
    await expect(queries.task('t', owner)).rejects.toMatchObject({
      code: 'TASK_NOT_FOUND',
      message: 'task t was deleted',
    });
  });

  describe('who may read a task', () => {
    it("answers someone else's task as one that does not exist, deleted or not", async () => {
      const { db, queries } = setup();
      const stranger = { subject: 'v', admin: false };
      await expect(queries.task('t', stranger)).rejects.toMatchObject({
        code: 'TASK_NOT_FOUND',
        message: 'task t does not exist',
      });
      db.task = view(2, 'deleted');
      queries.onReset();
      await expect(queries.task('t', stranger)).rejects.toMatchObject({
        code: 'TASK_NOT_FOUND',
        message: 'task t does not exist',
      });
      await expect(queries.task('t', owner)).rejects.toMatchObject({
        code: 'TASK_NOT_FOUND',
        message: 'task t was deleted',
      });
    });

    it("shows an admin anyone's task, from the same cache entry", async () => {
      const { db, queries } = setup();
      await queries.task('t', owner);
      const answer = await queries.task('t', { subject: 'ops', admin: true });
      expect(answer).toMatchObject({ value: { ownerId: 'u' }, cache: 'hit' });
      expect(db.reads).toBe(1);
    });
  });
});
