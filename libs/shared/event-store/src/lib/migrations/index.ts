import { CreateEventStore1764000000000 } from './1764000000000-create-event-store';
import { CreateOutboxPublication1764000000001 } from './1764000000001-create-outbox-publication';

export { OUTBOX_PUBLICATION } from './1764000000001-create-outbox-publication';

/** Every event-store migration, oldest first. */
export const EVENT_STORE_MIGRATIONS = [CreateEventStore1764000000000, CreateOutboxPublication1764000000001];

/** Table in which TypeORM records which of these migrations ran (kept apart from other libs'). */
export const EVENT_STORE_MIGRATIONS_TABLE = 'event_store_migrations';
