import { replay } from '@cqrs/util';
import type { TaskCommand } from './task.commands';
import { decide, taskDecider, validateTaskCommand } from './task.decider';
import { DomainError } from '@cqrs/util';
import type { TaskEvent } from './task.events';
import {
  abandonTask,
  completeTask,
  createTask,
  deleteTask,
  given,
  HISTORY,
  startTask,
  T,
  TASK_ID,
  OWNER_ID,
  taskAbandoned,
  taskCompleted,
  taskCreated,
  taskDeleted,
  taskStarted,
  taskUpdated,
  updateTask,
} from '../testing';

type State = keyof typeof HISTORY;

// Every command in every state, written out by hand (independently of the ALLOWED_IN table) so a
// change to the lifecycle shows up here as a deliberate edit.
const commands: Record<string, () => TaskCommand> = {
  CreateTask: () => createTask({}, T.now),
  UpdateTask: () => updateTask({ title: 'Write the final report' }, T.now),
  StartTask: () => startTask(T.now),
  CompleteTask: () => completeTask(T.now),
  AbandonTask: () => abandonTask('blocked by legal', T.now),
  DeleteTask: () => deleteTask(T.now),
};
const accepted: Record<string, () => TaskEvent> = {
  CreateTask: () => taskCreated({ createdAt: T.now }),
  UpdateTask: () => taskUpdated({ title: 'Write the final report' }, T.now),
  StartTask: () => taskStarted(T.now),
  CompleteTask: () => taskCompleted(T.now),
  AbandonTask: () => taskAbandoned('blocked by legal', T.now),
  DeleteTask: () => taskDeleted(T.now),
};
const matrix: Record<State, Record<keyof typeof commands, string>> = {
  none: {
    CreateTask: 'accepted',
    UpdateTask: 'TASK_NOT_FOUND',
    StartTask: 'TASK_NOT_FOUND',
    CompleteTask: 'TASK_NOT_FOUND',
    AbandonTask: 'TASK_NOT_FOUND',
    DeleteTask: 'TASK_NOT_FOUND',
  },
  open: {
    CreateTask: 'TASK_ALREADY_EXISTS',
    UpdateTask: 'accepted',
    StartTask: 'accepted',
    CompleteTask: 'INVALID_TRANSITION',
    AbandonTask: 'accepted',
    DeleteTask: 'accepted',
  },
  started: {
    CreateTask: 'TASK_ALREADY_EXISTS',
    UpdateTask: 'accepted',
    StartTask: 'INVALID_TRANSITION',
    CompleteTask: 'accepted',
    AbandonTask: 'accepted',
    DeleteTask: 'accepted',
  },
  completed: {
    CreateTask: 'TASK_ALREADY_EXISTS',
    UpdateTask: 'INVALID_TRANSITION',
    StartTask: 'INVALID_TRANSITION',
    CompleteTask: 'INVALID_TRANSITION',
    AbandonTask: 'INVALID_TRANSITION',
    DeleteTask: 'accepted',
  },
  abandoned: {
    CreateTask: 'TASK_ALREADY_EXISTS',
    UpdateTask: 'INVALID_TRANSITION',
    StartTask: 'INVALID_TRANSITION',
    CompleteTask: 'INVALID_TRANSITION',
    AbandonTask: 'INVALID_TRANSITION',
    DeleteTask: 'accepted',
  },
  deleted: {
    CreateTask: 'TASK_ALREADY_EXISTS',
    UpdateTask: 'TASK_NOT_FOUND',
    StartTask: 'TASK_NOT_FOUND',
    CompleteTask: 'TASK_NOT_FOUND',
    AbandonTask: 'TASK_NOT_FOUND',
    DeleteTask: 'TASK_NOT_FOUND',
  },
};
const cases = Object.entries(matrix).flatMap(([state, row]) =>
  Object.entries(row).map(([command, outcome]) => [command, state as State, outcome] as const),
);

describe('Task decider: every command in every state', () => {
  it.each(cases)('%s on a %s task -> %s', (command, state, outcome) => {
    const when = given(HISTORY[state]).when(commands[command]());
    if (outcome === 'accepted') when.then([accepted[command]()]);
    else when.thenThrows(outcome);
  });

  it('covers all 36 combinations', () => {
    expect(cases).toHaveLength(36);
  });

  it('says why a transition is refused, with the status, in the error', () => {
    const error = given(HISTORY.completed).when(startTask()).thenThrows('INVALID_TRANSITION');
    expect(error).toMatchObject({
      kind: 'conflict',
      message: 'StartTask is not allowed on a completed task',
      details: { taskId: TASK_ID, command: 'StartTask', taskStatus: 'completed' },
    });
  });

  it('tells a deleted task from one that never existed', () => {
    expect(given(HISTORY.deleted).when(startTask()).thenThrows('TASK_NOT_FOUND').message).toBe(
      `task ${TASK_ID} was deleted`,
    );
    expect(given([]).when(startTask()).thenThrows('TASK_NOT_FOUND')).toMatchObject({
      kind: 'not_found',
      message: `task ${TASK_ID} does not exist`,
    });
  });
});

describe('ownership: only the owner may change a task', () => {
  const byAnother = (command: TaskCommand): TaskCommand => ({
    ...command,
    metadata: { ...command.metadata, actor: 'user-7' },
  });
  const changes = Object.keys(commands).filter((c) => c !== 'CreateTask');

  it.each(
    changes.flatMap((command) =>
      (Object.keys(HISTORY) as State[]).filter((s) => s !== 'none').map((state) => [command, state] as const),
    ),
  )('%s by another user on a %s task is TASK_NOT_FOUND, worded as for a task that never existed', (command, state) => {
    const error = given(HISTORY[state]).when(byAnother(commands[command]())).thenThrows('TASK_NOT_FOUND');
    expect(error.message).toBe(`task ${TASK_ID} does not exist`);
  });

  it('lets the owner do what the lifecycle allows', () => {
    expect(OWNER_ID).toBe(startTask().metadata.actor);
    given(HISTORY.open)
      .when(startTask(T.now))
      .then([taskStarted(T.now)]);
  });
});

describe('CreateTask', () => {
  it('records every field given, stamped with the command time', () => {
    given([])
      .when(
        createTask(
          { title: 'Plan Q3', description: 'Budget and hires', dueDate: '2025-06-30', priority: 'HIGH' },
          T.created,
        ),
      )
      .then([
        {
          type: 'TaskCreated',
          data: {
            taskId: TASK_ID,
            ownerId: OWNER_ID,
            title: 'Plan Q3',
            description: 'Budget and hires',
            dueDate: '2025-06-30',
            priority: 'HIGH',
            createdAt: T.created,
          },
        },
      ]);
  });

  it('defaults the priority to NORMAL and leaves absent optional fields out of the event', () => {
    given([])
      .when(createTask({ title: 'Plan Q3' }, T.created))
      .then([taskCreated({ title: 'Plan Q3' })]);
  });

  it('trims the title and treats a blank description as none', () => {
    given([])
      .when(createTask({ title: '  Plan Q3 \n', description: '   ' }, T.created))
      .then([taskCreated({ title: 'Plan Q3' })]);
  });

  it('accepts a due date-time with an offset', () => {
    given([])
      .when(createTask({ dueDate: '2025-06-30T17:00:00+02:00' }, T.created))
      .then([taskCreated({ dueDate: '2025-06-30T17:00:00+02:00' })]);
  });

  it('accepts a multi-line description with tabs', () => {
    const description = 'Steps:\r\n\t1. draft\n\t2. review';
    given([])
      .when(createTask({ description }, T.created))
      .then([taskCreated({ description })]);
  });

  it('accepts a title of exactly 200 characters, counting an emoji as one', () => {
    const title = '✅'.repeat(200);
    given([])
      .when(createTask({ title }, T.created))
      .then([taskCreated({ title })]);
  });

  it.each([
    ['a missing title', { title: undefined }, 'title', 'is required'],
    ['a blank title', { title: '   ' }, 'title', 'is required'],
    ['a title over 200 characters', { title: 'x'.repeat(201) }, 'title', 'must be at most 200 characters'],
    [
      'a description over 2000 characters',
      { description: 'x'.repeat(2001) },
      'description',
      'must be at most 2000 characters',
    ],
    ['an impossible due date', { dueDate: '2025-02-29' }, 'dueDate', expect.stringContaining('ISO-8601')],
    [
      'a due date-time without offset',
      { dueDate: '2025-06-30T17:00:00' },
      'dueDate',
      expect.stringContaining('ISO-8601'),
    ],
    ['a due date in another format', { dueDate: '30/06/2025' }, 'dueDate', expect.stringContaining('ISO-8601')],
    ['an unknown priority', { priority: 'URGENT' as never }, 'priority', 'must be one of LOW, NORMAL, HIGH'],
    ['a blank owner', { ownerId: ' ' }, 'ownerId', 'must be a non-blank identifier'],
    ['a blank task id', { taskId: '' }, 'taskId', 'must be a non-blank identifier'],
    ['a title holding NUL', { title: 'a\u0000b' }, 'title', expect.stringContaining('control characters')],
    ['a title holding a lone surrogate', { title: 'a\ud800' }, 'title', expect.stringContaining('well-formed Unicode')],
    [
      'a description holding NUL',
      { description: 'a\u0000b' },
      'description',
      expect.stringContaining('control characters'),
    ],
    [
      'an owner id holding a line feed',
      { ownerId: 'al\nice' },
      'ownerId',
      expect.stringContaining('control characters'),
    ],
    ['an owner id of 201 emoji', { ownerId: '😀'.repeat(201) }, 'ownerId', 'must be at most 200 characters'],
  ])('rejects %s', (_, data, field, message) => {
    const error = given([])
      .when(createTask(data as never))
      .thenThrows('VALIDATION_FAILED');
    expect(error.kind).toBe('validation');
    expect(error.details?.['errors']).toEqual([{ field, message }]);
  });

  it('reports every invalid field at once', () => {
    const error = given([])
      .when(createTask({ title: '', dueDate: 'tomorrow', priority: 'low' as never }))
      .thenThrows('VALIDATION_FAILED');
    expect((error.details?.['errors'] as { field: string }[]).map((e) => e.field)).toEqual([
      'title',
      'dueDate',
      'priority',
    ]);
  });

  it('checks the fields before the state: an invalid create of an existing task is a 400, not a 409', () => {
    given(HISTORY.open)
      .when(createTask({ title: '' }))
      .thenThrows('VALIDATION_FAILED');
  });
});

describe('UpdateTask', () => {
  const rich = taskCreated({ description: 'Budget and hires', dueDate: '2025-06-30' });

  it('records only the fields that changed', () => {
    given([rich])
      .when(updateTask({ title: 'Write the report', description: 'Budget only', dueDate: '2025-06-30' }, T.updated))
      .then([taskUpdated({ description: 'Budget only' })]);
  });

  it('clears description and due date with null, leaving absent fields unchanged', () => {
    given([rich])
      .when(updateTask({ description: null, dueDate: null }, T.updated))
      .then([taskUpdated({ description: null, dueDate: null })]);
  });

  it('treats a blank description as clearing it', () => {
    given([rich])
      .when(updateTask({ description: '  ' }, T.updated))
      .then([taskUpdated({ description: null })]);
  });

  it('sets fields the task did not have', () => {
    given([taskCreated()])
      .when(updateTask({ description: 'Now with details', dueDate: '2025-07-01' }, T.updated))
      .then([taskUpdated({ description: 'Now with details', dueDate: '2025-07-01' })]);
  });

  it('records nothing when nothing would change, so a retried update is harmless', () => {
    given([rich, taskUpdated({ title: 'Renamed' })])
      .when(updateTask({ title: ' Renamed ', description: 'Budget and hires' }))
      .thenNothingHappens();
    given([taskCreated()])
      .when(updateTask({ description: null, dueDate: null }))
      .thenNothingHappens();
  });

  it('sees earlier updates: clearing an already cleared field changes nothing', () => {
    given([rich, taskUpdated({ dueDate: null })])
      .when(updateTask({ dueDate: null }))
      .thenNothingHappens();
  });

  it('is allowed while the task is started', () => {
    given(HISTORY.started)
      .when(updateTask({ title: 'Faster' }, T.updated))
      .then([taskUpdated({ title: 'Faster' })]);
  });

  it.each([
    ['no field at all', {}, 'body'],
    ['a null title (a title cannot be cleared)', { title: null as never }, 'title'],
    ['a blank title', { title: ' ' }, 'title'],
    ['a title over 200 characters', { title: 'x'.repeat(201) }, 'title'],
    ['a description over 2000 characters', { description: 'x'.repeat(2001) }, 'description'],
    ['an invalid due date', { dueDate: '2025-13-01' }, 'dueDate'],
  ])('rejects %s', (_, data, field) => {
    const error = given([taskCreated()]).when(updateTask(data)).thenThrows('VALIDATION_FAILED');
    expect(error.details?.['errors']).toEqual([expect.objectContaining({ field })]);
  });
});

describe('AbandonTask', () => {
  it('records the trimmed reason', () => {
    given(HISTORY.started)
      .when(abandonTask('  scope cut  ', T.abandoned))
      .then([taskAbandoned('scope cut', T.abandoned)]);
  });

  it.each([
    ['a missing reason', undefined, 'is required'],
    ['a blank reason', '  ', 'is required'],
    ['a reason over 500 characters', 'x'.repeat(501), 'must be at most 500 characters'],
  ])('rejects %s', (_, reason, message) => {
    const error = given(HISTORY.open)
      .when({
        type: 'AbandonTask',
        data: { taskId: TASK_ID, reason: reason as string },
        metadata: { now: T.now, actor: OWNER_ID },
      })
      .thenThrows('VALIDATION_FAILED');
    expect(error.details?.['errors']).toEqual([{ field: 'reason', message }]);
  });

  it('accepts a reason of exactly 500 characters', () => {
    const reason = 'r'.repeat(500);
    given(HISTORY.open)
      .when(abandonTask(reason, T.abandoned))
      .then([taskAbandoned(reason, T.abandoned)]);
  });
});

describe('validateTaskCommand: the input rules alone, before any state is loaded', () => {
  const fieldsOf = (command: TaskCommand) => {
    try {
      validateTaskCommand(command);
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ code: 'VALIDATION_FAILED', kind: 'validation' });
      return ((error as DomainError).details?.['errors'] as { field: string }[]).map((e) => e.field);
    }
    return [];
  };
  const withTaskId = <C extends TaskCommand>(command: C, taskId: string): C => ({
    ...command,
    data: { ...command.data, taskId },
  });

  it('accepts every well-formed command, whatever the state it would meet', () => {
    for (const command of Object.values(commands)) expect(fieldsOf(command())).toEqual([]);
  });

  it.each([
    ['a title with NUL', createTask({ title: 'a\u0000b' }), ['title']],
    ['a title with a lone surrogate', createTask({ title: 'a\ud800' }), ['title']],
    ['an owner id with a line feed', createTask({ ownerId: 'user\n1' }), ['ownerId']],
    ['a description with NUL', createTask({ description: 'x\u0000' }), ['description']],
    ['an update title with a C1 control', updateTask({ title: 'a\u0085b' }), ['title']],
    ['an update description with a lone low surrogate', updateTask({ description: '\udc00' }), ['description']],
    ['an update with an impossible due date', updateTask({ dueDate: '2026-02-30' }), ['dueDate']],
    ['a reason with NUL', abandonTask('stop\u0000'), ['reason']],
    ['a reason over 500 characters', abandonTask('r'.repeat(501)), ['reason']],
    ['a start of a task id with NUL', withTaskId(startTask(), 'id\u0000'), ['taskId']],
    ['a completion of a blank task id', withTaskId(completeTask(), ' '), ['taskId']],
    ['a deletion of a task id with a lone surrogate', withTaskId(deleteTask(), '\ud800'), ['taskId']],
    ['an abandonment of a blank task id', withTaskId(abandonTask(), ''), ['taskId']],
  ])('refuses %s, naming the field', (_name, command, fields) => {
    expect(fieldsOf(command)).toEqual(fields);
  });

  it('is what decide applies first: a malformed start is a 400 even for a task that does not exist', () => {
    given([]).when(withTaskId(startTask(), 'id\u0000')).thenThrows('VALIDATION_FAILED');
  });
});

describe('decide is pure', () => {
  it('never mutates the state it is given', () => {
    const state = deepFreeze(replay(taskDecider, [taskCreated({ description: 'd', dueDate: '2025-06-30' })]));
    // Frozen objects throw on write in strict mode, so any mutation inside decide fails the test.
    expect(() => decide(updateTask({ title: 'New', description: null, dueDate: '2025-07-01' }), state)).not.toThrow();
    expect(() => decide(startTask(), state)).not.toThrow();
    expect(state).toMatchObject({ status: 'open', title: 'Write the report', description: 'd' });
  });
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
