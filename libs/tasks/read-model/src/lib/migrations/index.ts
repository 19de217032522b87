import type { ReadModelMigrations } from '@cqrs/projection';
import { CreateReadModel1765000000000 } from './1765000000000-create-read-model';
import { CreateRecordOverrides1765000000001 } from './1765000000001-create-record-overrides';
import { GrantLeastPrivilege1765000000002 } from './1765000000002-grant-least-privilege';
import { CreateProjectionRebuilds1765000000003 } from './1765000000003-create-projection-rebuilds';
import { CreateProjectionControls1765000000004 } from './1765000000004-create-projection-controls';

/** Every read-model migration, oldest first. */
export const READ_MODEL_MIGRATIONS = [
  CreateReadModel1765000000000,
  CreateRecordOverrides1765000000001,
  GrantLeastPrivilege1765000000002,
  CreateProjectionRebuilds1765000000003,
  CreateProjectionControls1765000000004,
];

/** Table in which TypeORM records which of these migrations ran (kept apart from other libs'). */
export const READ_MODEL_MIGRATIONS_TABLE = 'read_model_migrations';

/** The tasks context's read-model migrations, as the projector's registration point applies them. */
export const TASKS_READ_MODEL: ReadModelMigrations = {
  context: 'tasks',
  migrations: READ_MODEL_MIGRATIONS,
  migrationsTable: READ_MODEL_MIGRATIONS_TABLE,
  // The lock these migrations always took (before other contexts had read models).
  lock: 'cqrs.read-model.migrations',
};
