import { replay } from '@cqrs/util';
import { taskDecider } from './task.decider';
import { initialState, evolve, type Task } from './task.state';
import {
  OWNER_ID,
  T,
  TASK_ID,
  taskAbandoned,
  taskCompleted,
  taskCreated,
  taskDeleted,
  taskStarted,
  taskUpdated,
} from '../testing';

const base = {
  taskId: TASK_ID,
  ownerId: OWNER_ID,
  title: 'Write the report',
  description: null,
  dueDate: null,
  priority: 'NORMAL',
  createdAt: T.created,
  startedAt: null,
  completedAt: null,
  abandonedAt: null,
  abandonReason: null,
  deletedAt: null,
} as const;

describe('Task state (evolve)', () => {
  it('starts with no task', () => {
    expect(initialState()).toEqual({ status: 'none' });
  });

  it('follows a task through its lifecycle', () => {
    expect(replay(taskDecider, [taskCreated()])).toEqual({ ...base, status: 'open', updatedAt: T.created });
    expect(replay(taskDecider, [taskCreated(), taskStarted(), taskCompleted()])).toEqual({
      ...base,
      status: 'completed',
      startedAt: T.started,
      completedAt: T.completed,
      updatedAt: T.completed,
    });
    expect(replay(taskDecider, [taskCreated(), taskAbandoned('scope cut')])).toEqual({
      ...base,
      status: 'abandoned',
      abandonedAt: T.abandoned,
      abandonReason: 'scope cut',
      updatedAt: T.abandoned,
    });
    expect(replay(taskDecider, [taskCreated(), taskStarted(), taskDeleted()])).toMatchObject({
      status: 'deleted',
      startedAt: T.started,
      deletedAt: T.deleted,
    });
  });

  it('applies updates: absent leaves a field, null clears it', () => {
    const state = replay(taskDecider, [
      taskCreated({ description: 'old', dueDate: '2025-06-30' }),
      taskUpdated({ title: 'New title', dueDate: null }),
    ]);
    expect(state).toMatchObject({ title: 'New title', description: 'old', dueDate: null, updatedAt: T.updated });
  });

  it('is plain JSON, so a snapshot round-trips to an equal state', () => {
    const state = replay(taskDecider, [taskCreated({ dueDate: '2025-06-30' }), taskStarted()]);
    expect(JSON.parse(JSON.stringify(state)) as Task).toEqual(state);
  });

  it('refuses to build a task from a corrupt stream', () => {
    expect(() => evolve(initialState(), taskStarted())).toThrow(
      "corrupt task stream: TaskStarted cannot follow state 'none'",
    );
    expect(() => replay(taskDecider, [taskCreated(), taskCreated()])).toThrow(/TaskCreated cannot follow state 'open'/);
  });
});
