import { hashKey, matchQuery, Query, QueryClient, type QueryKey } from '@tanstack/query-core';
import { adminInvalidations, projectInvalidations, taskInvalidations } from './invalidation';
import { queryKeys } from './query-keys';

const T = '00000000-0000-4000-8000-000000000001';
const P = '00000000-0000-4000-8000-000000000002';

/** Whether invalidating `prefixes` reaches `key`, with TanStack's own prefix matching. */
function reached(prefixes: QueryKey[], key: QueryKey): boolean {
  const query = new Query({ client: new QueryClient(), queryKey: key, queryHash: hashKey(key), options: {} });
  return prefixes.some((queryKey) => matchQuery({ queryKey }, query));
}

describe('query keys', () => {
  it('are hierarchical tuples, so a prefix reaches everything under it', () => {
    expect(queryKeys.tasks.detail(T)).toEqual(['tasks', 'detail', T]);
    expect(queryKeys.tasks.myList({ status: 'open' })).toEqual(['tasks', 'list', 'me', { status: 'open' }]);
    expect(reached([queryKeys.tasks.lists()], queryKeys.tasks.myList({ limit: 5 }))).toBe(true);
    expect(reached([queryKeys.tasks.lists()], queryKeys.tasks.userList('bob'))).toBe(true);
    expect(reached([queryKeys.tasks.all], queryKeys.tasks.myStats())).toBe(true);
    expect(reached([queryKeys.tasks.myLists()], queryKeys.tasks.userList('bob'))).toBe(false);
    expect(reached([queryKeys.tasks.detail(T)], queryKeys.tasks.detail(P))).toBe(false);
  });

  it('hash equal parameters alike, whatever undefined members they carry', () => {
    expect(hashKey(queryKeys.tasks.myList({ status: undefined, limit: 10 }))).toBe(
      hashKey(queryKeys.tasks.myList({ limit: 10 })),
    );
    expect(hashKey(queryKeys.tasks.myList())).toBe(hashKey(queryKeys.tasks.myList({})));
    expect(hashKey(queryKeys.projects.myList({ limit: 1 }))).not.toBe(hashKey(queryKeys.projects.myList()));
  });
});

describe('invalidation lists', () => {
  const t = queryKeys.tasks;
  const p = queryKeys.projects;
  const everything: QueryKey[] = [
    t.detail(T),
    t.detail(P),
    t.myList(),
    t.myList({ status: 'completed' }),
    t.userList('bob'),
    t.userList('carol'),
    t.myStats(),
    t.userStats('bob'),
    t.userStats('carol'),
    p.detail(P),
    p.detail(T),
    p.myList(),
  ];
  const hit = (prefixes: QueryKey[]) => everything.filter((key) => reached(prefixes, key));

  it('a new task changes the caller’s lists and statistics only', () => {
    expect(hit(taskInvalidations('create', T))).toEqual([t.myList(), t.myList({ status: 'completed' }), t.myStats()]);
  });

  it('a patch changes the task and the lists it appears in, not the statistics', () => {
    expect(hit(taskInvalidations('patch', T, 'bob'))).toEqual([
      t.detail(T),
      t.myList(),
      t.myList({ status: 'completed' }),
      t.userList('bob'),
    ]);
  });

  it.each(['start', 'complete', 'abandon', 'delete'] as const)(
    '%s changes the task, the owner’s lists and statistics, and the projects’ progress',
    (change) => {
      expect(hit(taskInvalidations(change, T, 'bob'))).toEqual([
        t.detail(T),
        t.myList(),
        t.myList({ status: 'completed' }),
        t.userList('bob'),
        t.myStats(),
        t.userStats('bob'),
        p.detail(P),
        p.detail(T),
        p.myList(),
      ]);
      // without the owner known, the caller's own only
      expect(hit(taskInvalidations(change, T))).not.toContainEqual(t.userList('bob'));
    },
  );

  it('a project command changes that project and the caller’s project lists', () => {
    expect(hit(projectInvalidations('create', P))).toEqual([p.myList()]);
    for (const change of ['rename', 'archive', 'addTask'] as const) {
      expect(hit(projectInvalidations(change, P))).toEqual([p.detail(P), p.myList()]);
    }
  });
});

describe('admin invalidation lists', () => {
  const a = queryKeys.admin;
  const everything: QueryKey[] = [
    a.projectionList(),
    a.projection('tasks'),
    a.projection('projects'),
    a.rebuild('tasks'),
    a.rebuild('projects'),
    a.deadLetterList(),
    a.deadLetterList({ projection: 'tasks' }),
    a.deadLetter(1),
    a.deadLetter(2),
    a.reconciliation(),
    a.relay(),
  ];
  const hit = (prefixes: QueryKey[]) => everything.filter((key) => reached(prefixes, key));

  it('pausing or resuming changes that projection and the list of them', () => {
    for (const kind of ['pause', 'resume'] as const)
      expect(hit(adminInvalidations({ kind, projection: 'tasks' }))).toEqual([
        a.projectionList(),
        a.projection('tasks'),
      ]);
  });

  it('a rebuild changes its progress and its projection', () => {
    for (const kind of ['startRebuild', 'cancelRebuild'] as const)
      expect(hit(adminInvalidations({ kind, projection: 'tasks' }))).toEqual([
        a.projectionList(),
        a.projection('tasks'),
        a.rebuild('tasks'),
      ]);
  });

  it('a redrive or a discard changes the record, the lists of them and the projections’ parked counts', () => {
    for (const kind of ['redrive', 'discard'] as const)
      expect(hit(adminInvalidations({ kind, deadLetterId: 1 }))).toEqual([
        a.projectionList(),
        a.projection('tasks'),
        a.projection('projects'),
        a.deadLetterList(),
        a.deadLetterList({ projection: 'tasks' }),
        a.deadLetter(1),
      ]);
  });

  it('a reconciliation changes the latest one only', () => {
    expect(hit(adminInvalidations({ kind: 'reconcile' }))).toEqual([a.reconciliation()]);
  });
});
