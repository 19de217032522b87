import { actionsFor, applyAction, COLUMNS, groupByStatus, type TaskStatus } from './board';

const task = (taskId: string, status: TaskStatus) => ({ taskId, status, title: taskId });

describe('the board', () => {
  it('has one column per status the query service answers', () => {
    expect(COLUMNS.map((c) => `${c.status}=${c.label}`)).toEqual([
      'open=Open',
      'started=In progress',
      'completed=Done',
      'abandoned=Abandoned',
    ]);
  });

  it('offers the commands the task lifecycle allows', () => {
    expect(actionsFor('open')).toEqual(['start', 'abandon', 'delete']);
    expect(actionsFor('started')).toEqual(['complete', 'abandon', 'delete']);
    expect(actionsFor('completed')).toEqual(['delete']);
    expect(actionsFor('abandoned')).toEqual(['delete']);
  });

  it('groups tasks by status, keeping their order', () => {
    const columns = groupByStatus([task('a', 'open'), task('b', 'completed'), task('c', 'open')]);
    expect(columns.open.map((t) => t.taskId)).toEqual(['a', 'c']);
    expect(columns.completed.map((t) => t.taskId)).toEqual(['b']);
    expect(columns.started).toEqual([]);
  });

  it('moves an accepted command’s task to its new column, or off the board when deleted', () => {
    const tasks = [task('a', 'open'), task('b', 'started')];
    expect(applyAction(tasks, 'a', 'start')).toEqual([task('a', 'started'), task('b', 'started')]);
    expect(applyAction(tasks, 'b', 'complete')[1]?.status).toBe('completed');
    expect(applyAction(tasks, 'b', 'abandon')[1]?.status).toBe('abandoned');
    expect(applyAction(tasks, 'a', 'delete')).toEqual([task('b', 'started')]);
    expect(tasks[0]?.status).toBe('open'); // the cached list itself is not changed
  });
});
