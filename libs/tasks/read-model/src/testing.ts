/**
 * Test-only entry of the tasks read model (`@cqrs/tasks-read-model/testing`): throwaway read
 * databases with production privileges, and record builders. Never import it from app code.
 */
import { randomBytes } from 'node:crypto';
import { dropDatabase, quoteIdent, withClient } from '@cqrs/testing';
import type { TaskEvent } from '@cqrs/tasks-domain';
import { migrateReadModel } from './lib/migrate';
import type { SequencedRecord } from './lib/sequencing/stream-sequencer';

/** A migrated read database that exists for one test file, reachable as each role. */
export interface ReadModelTestDatabase {
  name: string;
  /** As the owner role (DDL, migrations, rebuild switch). */
  ownerUrl: string;
  /** As the projector role (DML). */
  projectorUrl: string;
  /** As the query role (SELECT). */
  queryUrl: string;
  /** Drops the database, closing whatever connections are still open. */
  drop(): Promise<void>;
}

/**
 * Creates a database owned by `ownerUrl`'s role with the privileges of the real read database
 * (tools/local-stack/postgres/init.sql: DML for the projector, SELECT for the query service on
 * whatever the owner creates), then applies the read-model migrations as the owner.
 */
export async function createReadModelTestDatabase(options: {
  adminUrl: string;
  ownerUrl: string;
  projectorUrl: string;
  queryUrl: string;
  prefix?: string;
  migrate?: boolean;
}): Promise<ReadModelTestDatabase> {
  const name = `${options.prefix ?? 'rm_test'}_${randomBytes(5).toString('hex')}`;
  const urlAs = (roleUrl: string) => {
    const url = new URL(roleUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  const role = (url: string) => quoteIdent(new URL(url).username);
  await withClient(options.adminUrl, (admin) => admin.query(`CREATE DATABASE ${name} OWNER ${role(options.ownerUrl)}`));
  const ownerUrl = urlAs(options.ownerUrl);
  await withClient(ownerUrl, async (owner) => {
    const projector = role(options.projectorUrl);
    const query = role(options.queryUrl);
    await owner.query(`GRANT USAGE ON SCHEMA public TO ${projector}, ${query}`);
    await owner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${projector}`);
    await owner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${projector}`);
    await owner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${query}`);
  });
  if (options.migrate ?? true) await migrateReadModel(ownerUrl);
  return {
    name,
    ownerUrl,
    projectorUrl: urlAs(options.projectorUrl),
    queryUrl: urlAs(options.queryUrl),
    drop: () => dropDatabase(options.adminUrl, name),
  };
}

let offset = 0;

/** A decoded record of `event` at `version` of its task's stream, at a fresh offset of `t`/0. */
export function taskRecord(event: TaskEvent, version: number, source: Partial<SequencedRecord<TaskEvent>['source']> = {}): SequencedRecord<TaskEvent> {
  return {
    source: { topic: 't', partition: 0, offset: String(offset++), key: Buffer.from(event.data.taskId), value: Buffer.from('{}'), headers: {}, ...source },
    decoded: { ok: true, streamId: event.data.taskId, version, event },
  };
}

/** A record that failed to decode, for the given stream. */
export function poisonRecord(streamId: string, version: number | null, value = Buffer.from([0, 0, 0, 0, 99, 1])): SequencedRecord<TaskEvent> {
  return {
    source: { topic: 't', partition: 0, offset: String(offset++), key: Buffer.from(streamId), value, headers: { eventType: 'TaskStarted' } },
    decoded: { ok: false, streamId, version, reason: 'UNKNOWN_SCHEMA', code: 'UNKNOWN_SCHEMA_ID', message: 'unknown schema id 99' },
  };
}

/** Builders for the events of one task, with distinct instants in order. */
export function taskEvents(taskId: string, ownerId = 'user-1', createdAt = '2025-01-01T09:00:00.000Z') {
  const at = (minutes: number) => new Date(Date.parse(createdAt) + minutes * 60_000).toISOString();
  return {
    created: (title = `task ${taskId}`): TaskEvent => ({ type: 'TaskCreated', data: { taskId, ownerId, title, priority: 'NORMAL', createdAt } }),
    updated: (data: { title?: string; description?: string | null; dueDate?: string | null }, minute = 1): TaskEvent => ({
      type: 'TaskUpdated',
      data: { taskId, ...data, updatedAt: at(minute) },
    }),
    started: (minute = 2): TaskEvent => ({ type: 'TaskStarted', data: { taskId, startedAt: at(minute) } }),
    completed: (minute = 3): TaskEvent => ({ type: 'TaskCompleted', data: { taskId, completedAt: at(minute) } }),
    abandoned: (reason = 'changed my mind', minute = 3): TaskEvent => ({ type: 'TaskAbandoned', data: { taskId, reason, abandonedAt: at(minute) } }),
    deleted: (minute = 4): TaskEvent => ({ type: 'TaskDeleted', data: { taskId, deletedAt: at(minute) } }),
  };
}
