import { CreateEventStore1764000000000 } from './1764000000000-create-event-store';
import { CreateOutboxPublication1764000000001 } from './1764000000001-create-outbox-publication';
import { CreateAppendFunction1764000000002 } from './1764000000002-create-append-function';
import { CreateAppendBatchFunction1764000000003 } from './1764000000003-create-append-batch-function';
import { GrantLeastPrivilege1764000000004 } from './1764000000004-grant-least-privilege';
import { ArchiveAndSnapshotHistory1764000000005 } from './1764000000005-archive-and-snapshot-history';

export { OUTBOX_PUBLICATION } from './1764000000001-create-outbox-publication';
export { APPEND_FUNCTION } from './1764000000002-create-append-function';
export { APPEND_BATCH_FUNCTION } from './1764000000003-create-append-batch-function';
export { WRITE_DATABASE_ROLES } from './1764000000004-grant-least-privilege';
export {
  ARCHIVED_STREAMS_TABLE,
  ARCHIVING_SETTING,
  EVENTS_ARCHIVE_TABLE,
} from './1764000000005-archive-and-snapshot-history';

/** Every event-store migration, oldest first. */
export const EVENT_STORE_MIGRATIONS = [
  CreateEventStore1764000000000,
  CreateOutboxPublication1764000000001,
  CreateAppendFunction1764000000002,
  CreateAppendBatchFunction1764000000003,
  GrantLeastPrivilege1764000000004,
  ArchiveAndSnapshotHistory1764000000005,
];

/** Table in which TypeORM records which of these migrations ran (kept apart from other libs'). */
export const EVENT_STORE_MIGRATIONS_TABLE = 'event_store_migrations';
