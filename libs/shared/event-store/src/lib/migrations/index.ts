import { CreateEventStore1764000000000 } from './1764000000000-create-event-store';
import { CreateOutboxPublication1764000000001 } from './1764000000001-create-outbox-publication';
import { CreateAppendFunction1764000000002 } from './1764000000002-create-append-function';
import { CreateAppendBatchFunction1764000000003 } from './1764000000003-create-append-batch-function';
import { GrantLeastPrivilege1764000000004 } from './1764000000004-grant-least-privilege';

export { OUTBOX_PUBLICATION } from './1764000000001-create-outbox-publication';
export { APPEND_FUNCTION } from './1764000000002-create-append-function';
export { APPEND_BATCH_FUNCTION } from './1764000000003-create-append-batch-function';
export { WRITE_DATABASE_ROLES } from './1764000000004-grant-least-privilege';

/** Every event-store migration, oldest first. */
export const EVENT_STORE_MIGRATIONS = [
  CreateEventStore1764000000000,
  CreateOutboxPublication1764000000001,
  CreateAppendFunction1764000000002,
  CreateAppendBatchFunction1764000000003,
  GrantLeastPrivilege1764000000004,
];

/** Table in which TypeORM records which of these migrations ran (kept apart from other libs'). */
export const EVENT_STORE_MIGRATIONS_TABLE = 'event_store_migrations';
