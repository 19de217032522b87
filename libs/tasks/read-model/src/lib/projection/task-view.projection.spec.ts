import {
  emptyCounts,
  replayTask,
  stateFromView,
  statsDelta,
  taskViewFromRow,
  userTaskStats,
  type StatusCounts,
} from './task-view.projection';
import { initialState, type TaskEvent } from '@cqrs/tasks-domain';

const TASK_ID = '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11';
const OWNER_ID = 'user-42';
const T = {
  created: '2025-01-01T09:00:00.000Z',
  updated: '2025-01-01T10:00:00.000Z',
  started: '2025-01-02T09:00:00.000Z',
  abandoned: '2025-01-03T10:00:00.000Z',
  deleted: '2025-01-04T09:00:00.000Z',
};
const taskCreated = (): TaskEvent => ({
  type: 'TaskCreated',
  data: { taskId: TASK_ID, ownerId: OWNER_ID, title: 'Write the report', priority: 'NORMAL', createdAt: T.created },
});
const taskUpdated = (data: { title?: string; description?: string | null; dueDate?: string | null }): TaskEvent => ({
  type: 'TaskUpdated',
  data: { taskId: TASK_ID, ...data, updatedAt: T.updated },
});
const taskStarted = (): TaskEvent => ({ type: 'TaskStarted', data: { taskId: TASK_ID, startedAt: T.started } });
const taskAbandoned = (): TaskEvent => ({
  type: 'TaskAbandoned',
  data: { taskId: TASK_ID, reason: 'no longer needed', abandonedAt: T.abandoned },
});
const taskDeleted = (): TaskEvent => ({ type: 'TaskDeleted', data: { taskId: TASK_ID, deletedAt: T.deleted } });
const HISTORY = {
  open: [taskCreated()],
  started: [taskCreated(), taskStarted()],
  abandoned: [taskCreated(), taskAbandoned()],
};

describe('task view projection', () => {
  it('replays a history into the view the domain folds, with the stream version', () => {
    const view = replayTask([
      taskCreated(),
      taskUpdated({ title: 'Renamed', description: 'now with text' }),
      taskStarted(),
    ]);
    expect(view).toMatchObject({
      taskId: TASK_ID,
      ownerId: OWNER_ID,
      title: 'Renamed',
      description: 'now with text',
      status: 'started',
      startedAt: T.started,
      updatedAt: T.started,
      version: 3,
    });
  });

  it('round-trips a view through its row without losing a field', () => {
    const view = replayTask(HISTORY.abandoned)!;
    const row = {
      task_id: view.taskId,
      owner_id: view.ownerId,
      title: view.title,
      description: view.description,
      due_date: view.dueDate,
      priority: view.priority,
      status: view.status,
      created_at: new Date(view.createdAt),
      updated_at: new Date(view.updatedAt),
      started_at: null,
      completed_at: null,
      abandoned_at: new Date(view.abandonedAt!),
      abandon_reason: view.abandonReason,
      deleted_at: null,
      version: String(view.version),
    };
    expect(taskViewFromRow(row)).toEqual(view);
    expect(stateFromView(view)).not.toHaveProperty('version');
  });

  it('moves a user count from the status a task left to the one it entered', () => {
    const deltas = new Map<string, StatusCounts>();
    const open = replayTask(HISTORY.open)!;
    const started = replayTask(HISTORY.started)!;
    statsDelta(initialState(), stateFromView(open), deltas); // created: +1 open
    statsDelta(stateFromView(open), stateFromView(started), deltas); // started: open -> started
    statsDelta(stateFromView(started), stateFromView(replayTask([...HISTORY.started, taskDeleted()])), deltas);
    expect(deltas.get(OWNER_ID)).toEqual({ ...emptyCounts(), deleted: 1 });
  });

  it('leaves counts alone when a task changes without changing status', () => {
    const deltas = new Map<string, StatusCounts>();
    statsDelta(
      stateFromView(replayTask(HISTORY.open)),
      stateFromView(replayTask([...HISTORY.open, taskUpdated({ title: 'x' })])),
      deltas,
    );
    expect(deltas.size).toBe(0);
  });

  it('computes the completion rate over existing tasks, deleted ones apart', () => {
    expect(userTaskStats('u', { open: 1, started: 1, completed: 1, abandoned: 0, deleted: 5 })).toEqual({
      ownerId: 'u',
      total: 3,
      byStatus: { open: 1, started: 1, completed: 1, abandoned: 0 },
      deleted: 5,
      completionRate: 0.3333,
    });
    expect(userTaskStats('u', emptyCounts()).completionRate).toBe(0);
  });
});
