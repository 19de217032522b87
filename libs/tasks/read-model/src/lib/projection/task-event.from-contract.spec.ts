import type { TasksTaskEventsRecord } from '@cqrs/tasks-contracts';
import type { TaskEvent } from '@cqrs/tasks-domain';
import { fromContractRecord } from './task-event.from-contract';

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
const taskAbandoned = (): TaskEvent => ({
  type: 'TaskAbandoned',
  data: { taskId: TASK_ID, reason: 'no longer needed', abandonedAt: T.abandoned },
});

const base = (version: number, at: string) => ({
  eventId: '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
  aggregateId: TASK_ID,
  aggregateVersion: version,
  occurredAt: Date.parse(at),
  correlationId: null,
  causationId: null,
});

describe('fromContractRecord', () => {
  it('maps TaskCreated back to the domain event, optional fields absent when null', () => {
    const record: TasksTaskEventsRecord = {
      eventType: 'TaskCreated',
      value: {
        ...base(1, T.created),
        ownerId: 'user-42',
        title: 'Write the report',
        description: null,
        dueDate: null,
        priority: 'NORMAL',
      },
    };
    expect(fromContractRecord(record)).toEqual({
      eventId: base(1, T.created).eventId,
      streamId: TASK_ID,
      version: 1,
      event: taskCreated(),
    });
  });

  it('tells unchanged (null), cleared ({value: null}) and set ({value}) apart in TaskUpdated', () => {
    const record: TasksTaskEventsRecord = {
      eventType: 'TaskUpdated',
      value: { ...base(2, T.updated), title: null, description: { value: null }, dueDate: { value: '2026-01-31' } },
    };
    expect(fromContractRecord(record).event).toEqual(taskUpdated({ description: null, dueDate: '2026-01-31' }));
  });

  it('carries the reason of TaskAbandoned and the instant of the change', () => {
    const record: TasksTaskEventsRecord = {
      eventType: 'TaskAbandoned',
      value: { ...base(3, T.abandoned), reason: 'no longer needed' },
    };
    expect(fromContractRecord(record)).toMatchObject({ version: 3, event: taskAbandoned() });
  });
});
