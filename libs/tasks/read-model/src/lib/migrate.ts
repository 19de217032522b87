import { runMigrationsLocked } from '@cqrs/event-store';
import { DataSource } from 'typeorm';
import { READ_MODEL_MIGRATIONS, READ_MODEL_MIGRATIONS_TABLE } from './migrations';

// TypeORM does not lock: two deploys (or a deploy and a test) migrating at once would race.
const MIGRATION_LOCK = 'cqrs.read-model.migrations';

/**
 * Applies every pending read-model migration to the read database at `url` and returns the
 * names applied (empty when current, so it is safe on every deploy). Run it as the owner role
 * (`cqrs_owner`, `MIGRATIONS_READ_DATABASE_URL`): it owns what the migrations create, and they
 * grant the app roles their part of it.
 */
export async function migrateReadModel(url: string, options: { connectTimeoutMs?: number } = {}): Promise<string[]> {
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    poolSize: 2,
    applicationName: 'cqrs-read-model-migrate',
    connectTimeoutMS: options.connectTimeoutMs ?? 10_000,
    synchronize: false,
    migrationsRun: false,
    migrations: READ_MODEL_MIGRATIONS,
    migrationsTableName: READ_MODEL_MIGRATIONS_TABLE,
    migrationsTransactionMode: 'each',
    entities: [],
    logging: false,
  });
  await dataSource.initialize();
  try {
    return await runMigrationsLocked(dataSource, MIGRATION_LOCK);
  } finally {
    await dataSource.destroy();
  }
}
