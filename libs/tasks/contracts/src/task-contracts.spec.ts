import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import type { Schema } from 'avsc';
import {
  taskCreatedV1Schema,
  taskCreatedV2Schema,
  taskUpdatedV1Schema,
  tasksTaskEventsContracts,
  tasksTaskEventsTopic,
  type TaskCreated,
  type TaskCreatedV1,
  type TaskUpdated,
} from './index';

// Fixtures are the sample records checked in beside each schema (schemas/tasks/task/fixtures).
const fixture = <T = Record<string, unknown>>(name: string): T =>
  JSON.parse(readFileSync(join(__dirname, '../../../../schemas/tasks/task/fixtures', `${name}.json`), 'utf8'));
const createdV1 = fixture<TaskCreatedV1>('task-created.v1');
const createdV2 = fixture<TaskCreated>('task-created.v2');
const updatedV1 = fixture<TaskUpdated>('task-updated.v1');

const typeOf = (schema: object) => avro.Type.forSchema(schema as Schema);

/** Writes `value` with the writer schema and reads it with the reader schema, as a consumer would. */
function readAs<T>(reader: object, writer: object, value: unknown): T {
  const r = typeOf(reader);
  const w = typeOf(writer);
  return r.fromBuffer(w.toBuffer(value), r.createResolver(w)) as T;
}

describe('tasks event contracts', () => {
  it('a consumer compiled against TaskCreated v2 reads v1 records, with the default priority', () => {
    const read = readAs<TaskCreated>(taskCreatedV2Schema, taskCreatedV1Schema, createdV1);
    expect(read).toEqual({ ...createdV1, priority: 'NORMAL' });
  });

  it('a consumer still on TaskCreated v1 reads v2 records, without the priority (FULL_TRANSITIVE)', () => {
    const read = readAs<TaskCreatedV1>(taskCreatedV1Schema, taskCreatedV2Schema, createdV2);
    const { priority, ...withoutPriority } = createdV2;
    expect(priority).toBe('HIGH');
    expect(read).toEqual(withoutPriority);
  });

  it('a v2 reader reads a priority added later (by a future version) as NORMAL, thanks to the enum default', () => {
    const future = JSON.parse(JSON.stringify(taskCreatedV2Schema));
    future.fields.find((f: { name: string }) => f.name === 'priority').type.symbols.push('URGENT');
    const read = readAs<TaskCreated>(taskCreatedV2Schema, future, { ...createdV2, priority: 'URGENT' });
    expect(read.priority).toBe('NORMAL');
  });

  it('TaskUpdated tells "unchanged" (null) from "cleared" ({ value: null }) from "set"', () => {
    const type = typeOf(taskUpdatedV1Schema);
    const base = updatedV1;
    const cases: Array<Pick<TaskUpdated, 'description' | 'dueDate'>> = [
      { description: null, dueDate: null },
      { description: { value: null }, dueDate: { value: '2026-03-01' } },
      { description: { value: 'Now with charts' }, dueDate: { value: null } },
    ];
    for (const change of cases) {
      const event: TaskUpdated = { ...base, ...change };
      expect(type.fromBuffer(type.toBuffer(event))).toEqual(event);
    }
  });

  it.each(tasksTaskEventsContracts.flatMap((c) => c.versions.map((v) => [c.eventType, v.version, v.schema] as const)))(
    '%s v%d round-trips its fixture unchanged',
    (eventType, version, schema) => {
      const record = fixture(`${eventType.replace(/(?<!^)([A-Z])/g, '-$1').toLowerCase()}.v${version}`);
      const type = typeOf(schema);
      expect(type.fromBuffer(type.toBuffer(record))).toEqual(record);
    },
  );

  it('names every subject <topic>-<record full name> on tasks.task.events, FULL_TRANSITIVE', () => {
    expect(tasksTaskEventsContracts.map((c) => [c.eventType, c.subject, c.compatibility])).toEqual(
      ['TaskCreated', 'TaskUpdated', 'TaskStarted', 'TaskCompleted', 'TaskAbandoned', 'TaskDeleted'].map((t) => [
        t,
        `${tasksTaskEventsTopic}-tasks.task.${t}`,
        'FULL_TRANSITIVE',
      ]),
    );
  });

  it('keeps both versions of TaskCreated, the current one last', () => {
    const created = tasksTaskEventsContracts.find((c) => c.eventType === 'TaskCreated');
    expect(created?.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(created?.schema).toBe(taskCreatedV2Schema);
  });
});
