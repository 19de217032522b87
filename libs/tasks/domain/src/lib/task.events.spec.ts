import { ALLOWED_IN } from './task.decider';
import { TASK_EVENT_TYPES, TASK_TERMINAL_EVENT_TYPES } from './task.events';
import { evolve, initialState, type TaskStatus } from './task.state';
import { HISTORY } from '../testing';

describe('TASK_TERMINAL_EVENT_TYPES', () => {
  it('are the events that leave a task completed, abandoned or deleted', () => {
    const statusAfter = (status: 'completed' | 'abandoned' | 'deleted') =>
      HISTORY[status].reduce(evolve, initialState()).status;
    const lastOf = (status: 'completed' | 'abandoned' | 'deleted') => HISTORY[status].at(-1)?.type;
    expect(TASK_TERMINAL_EVENT_TYPES).toEqual([lastOf('completed'), lastOf('abandoned'), lastOf('deleted')]);
    expect(['completed', 'abandoned', 'deleted'].map((s) => statusAfter(s as 'completed'))).toEqual([
      'completed',
      'abandoned',
      'deleted',
    ]);
    for (const type of TASK_TERMINAL_EVENT_TYPES) expect(TASK_EVENT_TYPES).toContain(type);
  });

  it('end the lifecycle: after one, no command but a delete is allowed (and none after a delete)', () => {
    const terminal: TaskStatus[] = ['completed', 'abandoned', 'deleted'];
    for (const [command, allowedIn] of Object.entries(ALLOWED_IN)) {
      const allowedAfterTerminal = allowedIn.filter((status) => terminal.includes(status));
      expect([command, allowedAfterTerminal]).toEqual([
        command,
        command === 'DeleteTask' ? ['completed', 'abandoned'] : [],
      ]);
    }
  });
});
