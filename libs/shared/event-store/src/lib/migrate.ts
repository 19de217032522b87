import type { DataSource } from 'typeorm';
import { createEventStoreDataSource } from './data-source';

// Serialises migration runs per database: TypeORM does not lock, and several services (or
// engineers) may migrate the same database at once.
const MIGRATION_LOCK = 'cqrs.event-store.migrations';

/**
 * Applies every pending event-store migration on an initialised DataSource and returns the
 * names applied (empty when the schema is current, so it is safe to run on every deploy).
 * Run it as the role that should own the tables (`cqrs_owner`), never as the app role.
 */
export async function runEventStoreMigrations(dataSource: DataSource): Promise<string[]> {
  return runMigrationsLocked(dataSource, MIGRATION_LOCK);
}

/**
 * Applies a DataSource's pending migrations while holding a Postgres advisory lock named `lock`,
 * so concurrent runs (several services, a deploy and a test) wait instead of racing: TypeORM
 * does not lock. Returns the names applied. Any lib with its own migrations can use it.
 */
export async function runMigrationsLocked(dataSource: DataSource, lock: string): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    // A session-level advisory lock on its own connection: the migrations run beside it.
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [lock]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((migration) => migration.name);
    } finally {
      // If this fails the session is gone, and a dead session's advisory locks are gone with it.
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [lock]).catch(() => undefined);
    }
  } finally {
    await runner.release();
  }
}

/** Connects to `url`, applies pending migrations, disconnects. See {@link runEventStoreMigrations}. */
export async function migrateEventStore(url: string, options: { connectTimeoutMs?: number } = {}): Promise<string[]> {
  const dataSource = createEventStoreDataSource({
    url,
    poolSize: 2,
    applicationName: 'cqrs-db-migrate',
    connectTimeoutMs: options.connectTimeoutMs,
  });
  await dataSource.initialize();
  try {
    return await runEventStoreMigrations(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable database URL>';
  }
}

/**
 * A one-line, actionable explanation of a failure to reach or use the database, for CLIs and
 * startup logs (the raw driver error says `ECONNREFUSED` and little else).
 */
export function describeDatabaseError(error: unknown, url: string): string {
  const where = redactUrl(url);
  const e = (error ?? {}) as { code?: string; message?: string; errors?: { code?: string }[] };
  // Node reports a refused dual-stack connect as an AggregateError whose parts carry the code.
  const code = e.code ?? e.errors?.find((inner) => inner.code)?.code;
  const detail = e.message || code || String(error);
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot reach PostgreSQL at ${where}: connection refused. Is it running? (local stack: bash tools/local-stack/stack.sh up)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the database host of ${where}: ${detail}`;
    case 'ETIMEDOUT':
      return `timed out connecting to PostgreSQL at ${where}: ${detail}`;
    case '28P01':
    case '28000':
      return `PostgreSQL rejected the credentials for ${where}: ${detail}`;
    case '3D000':
      return `database of ${where} does not exist: ${detail}`;
    case '42501':
      return `the role of ${where} lacks a privilege the migration needs (run migrations as the owner role): ${detail}`;
    default:
      if (/timeout/i.test(detail)) return `timed out connecting to PostgreSQL at ${where}: ${detail}`;
      return `database error on ${where}: ${detail}`;
  }
}
