/**
 * Test-only entry of the tasks read model (`@cqrs/tasks-read-model/testing`): throwaway read
 * databases with production privileges, and record builders. Never import it from app code.
 */
import { createReadTestDatabase, type ReadTestDatabase } from '@cqrs/projection/testing';
import type { TaskEvent } from '@cqrs/tasks-domain';
import { TASKS_READ_MODEL } from './lib/migrations';
import type { SequencedRecord } from './lib/sequencing/stream-sequencer';

/** A migrated read database that exists for one test file, reachable as each role. */
export type ReadModelTestDatabase = ReadTestDatabase;

/**
 * Creates a database owned by `ownerUrl`'s role, set up as the real read database is
 * (tools/local-stack/postgres/init.sql: only the owner, the projector and the query role connect),
 * then applies the read-model migrations as the owner, which grant each role its tables.
 */
export async function createReadModelTestDatabase(options: {
  adminUrl: string;
  ownerUrl: string;
  projectorUrl: string;
  queryUrl: string;
  prefix?: string;
  migrate?: boolean;
}): Promise<ReadModelTestDatabase> {
  return createReadTestDatabase({
    ...options,
    prefix: options.prefix ?? 'rm_test',
    migrations: (options.migrate ?? true) ? [TASKS_READ_MODEL] : [],
  });
}

let offset = 0;

/** A decoded record of `event` at `version` of its task's stream, at a fresh offset of `t`/0. */
export function taskRecord(
  event: TaskEvent,
  version: number,
  source: Partial<SequencedRecord<TaskEvent>['source']> = {},
): SequencedRecord<TaskEvent> {
  return {
    source: {
      topic: 't',
      partition: 0,
      offset: String(offset++),
      key: Buffer.from(event.data.taskId),
      value: Buffer.from('{}'),
      headers: {},
      ...source,
    },
    decoded: { ok: true, streamId: event.data.taskId, version, event },
  };
}

/** A record that failed to decode, for the given stream. */
export function poisonRecord(
  streamId: string,
  version: number | null,
  value = Buffer.from([0, 0, 0, 0, 99, 1]),
): SequencedRecord<TaskEvent> {
  return {
    source: {
      topic: 't',
      partition: 0,
      offset: String(offset++),
      key: Buffer.from(streamId),
      value,
      headers: { eventType: 'TaskStarted' },
    },
    decoded: {
      ok: false,
      streamId,
      version,
      reason: 'UNKNOWN_SCHEMA',
      code: 'UNKNOWN_SCHEMA_ID',
      message: 'unknown schema id 99',
    },
  };
}

/** Builders for the events of one task, with distinct instants in order. */
export function taskEvents(taskId: string, ownerId = 'user-1', createdAt = '2025-01-01T09:00:00.000Z') {
  const at = (minutes: number) => new Date(Date.parse(createdAt) + minutes * 60_000).toISOString();
  return {
    created: (title = `task ${taskId}`): TaskEvent => ({
      type: 'TaskCreated',
      data: { taskId, ownerId, title, priority: 'NORMAL', createdAt },
    }),
    updated: (
      data: { title?: string; description?: string | null; dueDate?: string | null },
      minute = 1,
    ): TaskEvent => ({
      type: 'TaskUpdated',
      data: { taskId, ...data, updatedAt: at(minute) },
    }),
    started: (minute = 2): TaskEvent => ({ type: 'TaskStarted', data: { taskId, startedAt: at(minute) } }),
    completed: (minute = 3): TaskEvent => ({ type: 'TaskCompleted', data: { taskId, completedAt: at(minute) } }),
    abandoned: (reason = 'changed my mind', minute = 3): TaskEvent => ({
      type: 'TaskAbandoned',
      data: { taskId, reason, abandonedAt: at(minute) },
    }),
    deleted: (minute = 4): TaskEvent => ({ type: 'TaskDeleted', data: { taskId, deletedAt: at(minute) } }),
  };
}
