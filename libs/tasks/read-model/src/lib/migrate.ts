import { migrateReadModels } from '@cqrs/projection';
import { TASKS_READ_MODEL } from './migrations';

/**
 * Applies every pending tasks read-model migration to the read database at `url` and returns the
 * names applied (empty when current, so it is safe on every deploy). Run it as the owner role
 * (`cqrs_owner`, `MIGRATIONS_READ_DATABASE_URL`): it owns what the migrations create, and they
 * grant the app roles their part of it. The projector's `db:migrate:read` applies every context's.
 */
export async function migrateReadModel(url: string, options: { connectTimeoutMs?: number } = {}): Promise<string[]> {
  const applied = await migrateReadModels(url, [TASKS_READ_MODEL], options);
  return applied.map((name) => name.replace(/^tasks: /, ''));
}
