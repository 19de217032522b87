import { evolve, initialState } from './task.state';
import type { TaskEvent } from './task.events';
import { taskUpcasters } from './task.upcasters';

describe('taskUpcasters', () => {
  const v1Created = {
    type: 'TaskCreated',
    schemaVersion: 1,
    data: { taskId: 't-1', ownerId: 'u-1', title: 'Write', createdAt: '2025-01-01T00:00:00.000Z' },
  };

  it('gives a TaskCreated stored before priority existed the NORMAL priority', () => {
    const lifted = taskUpcasters.upcast(v1Created);
    expect(lifted.schemaVersion).toBe(2);
    expect(lifted.data).toEqual({ ...v1Created.data, priority: 'NORMAL' });
    const task = evolve(initialState(), lifted as unknown as TaskEvent);
    expect(task).toMatchObject({ status: 'open', priority: 'NORMAL' });
  });

  it('keeps the priority of a v2 TaskCreated', () => {
    const v2 = { type: 'TaskCreated', schemaVersion: 2, data: { ...v1Created.data, priority: 'HIGH' } };
    expect(taskUpcasters.upcast(v2)).toBe(v2);
  });

  it('names TaskCreated 2 as the current version', () => {
    expect(taskUpcasters.currentVersions.get('TaskCreated')).toBe(2);
  });
});
