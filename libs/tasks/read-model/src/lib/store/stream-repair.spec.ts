import type { Task } from '@cqrs/tasks-domain';
import { emptyCounts, replayTask, stateFromView, type StatusCounts } from '../projection/task-view.projection';
import { taskEvents } from '../../testing';
import { repairStatsDelta } from './stream-repair';

describe('repairStatsDelta', () => {
  const t = taskEvents('t-1', 'alice');
  const open = stateFromView(replayTask([t.created()]));
  const completed = stateFromView(replayTask([t.created(), t.started(), t.completed()]));
  const none: Task = { status: 'none' };
  const delta = (before: Task, after: Task) => {
    const into = new Map<string, StatusCounts>();
    repairStatsDelta(before, after, into);
    return Object.fromEntries(into);
  };

  it('moves one count from the old status to the new one, as the projector would', () => {
    expect(delta(open, completed)).toEqual({ alice: { ...emptyCounts(), open: -1, completed: 1 } });
    expect(delta(completed, completed)).toEqual({});
  });

  it('counts a row that appears, one that disappears (an orphan), and a row whose owner was wrong', () => {
    expect(delta(none, open)).toEqual({ alice: { ...emptyCounts(), open: 1 } });
    expect(delta(open, none)).toEqual({ alice: { ...emptyCounts(), open: -1 } });
    expect(delta({ ...completed, ownerId: 'mallory' } as Task, completed)).toEqual({
      mallory: { ...emptyCounts(), completed: -1 },
      alice: { ...emptyCounts(), completed: 1 },
    });
  });
});
