import type { QueryKey } from '@tanstack/query-core';
import { queryKeys } from './query-keys';

/** What a task command changes. */
export type TaskChange = 'create' | 'patch' | 'start' | 'complete' | 'abandon' | 'delete';
/** What a project command changes. */
export type ProjectChange = 'create' | 'rename' | 'archive' | 'addTask';

/**
 * The queries a task command makes stale, as key prefixes: the task's detail; the caller's lists,
 * and the owner's when known (an admin acting on someone else's task); the statistics when the
 * status changes (a patch changes none of them); and then the projects' views too, whose progress
 * counts the task's status (which project holds it the read side does not say).
 */
export function taskInvalidations(change: TaskChange, taskId: string, ownerId?: string): QueryKey[] {
  const t = queryKeys.tasks;
  const owner = ownerId === undefined ? [] : [t.userLists(ownerId)];
  if (change === 'create') return [t.myLists(), t.myStats()];
  if (change === 'patch') return [t.detail(taskId), t.myLists(), ...owner];
  return [
    t.detail(taskId),
    t.myLists(),
    ...owner,
    t.myStats(),
    ...(ownerId === undefined ? [] : [t.userStats(ownerId)]),
    queryKeys.projects.details(),
    queryKeys.projects.lists(),
  ];
}

/** The queries a project command makes stale: its detail (none yet on create) and the caller's lists. */
export function projectInvalidations(change: ProjectChange, projectId: string): QueryKey[] {
  const p = queryKeys.projects;
  return change === 'create' ? [p.myLists()] : [p.detail(projectId), p.myLists()];
}

/** What an admin command changes. */
export type AdminChange =
  | { kind: 'pause' | 'resume' | 'startRebuild' | 'cancelRebuild'; projection: string }
  | { kind: 'redrive' | 'discard'; deadLetterId: number }
  | { kind: 'reconcile' };

/**
 * The queries an admin command makes stale: a projection's state (and the list showing it), its
 * rebuild; a parked record, the lists of them and the projections' parked counts; the latest
 * reconciliation.
 */
export function adminInvalidations(change: AdminChange): QueryKey[] {
  const a = queryKeys.admin;
  switch (change.kind) {
    case 'pause':
    case 'resume':
      return [a.projection(change.projection), a.projectionList()];
    case 'startRebuild':
    case 'cancelRebuild':
      return [a.rebuild(change.projection), a.projection(change.projection), a.projectionList()];
    case 'redrive':
    case 'discard':
      return [a.deadLetter(change.deadLetterId), a.deadLetterLists(), a.projectionList(), a.projectionDetails()];
    case 'reconcile':
      return [a.reconciliation()];
    default: {
      const never: never = change;
      throw new Error(`unknown admin change ${JSON.stringify(never)}`);
    }
  }
}
