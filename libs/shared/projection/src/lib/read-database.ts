import { runMigrationsLocked } from '@cqrs/event-store';
import { DataSource, type MigrationInterface } from 'typeorm';

/** The read database's roles: the projector writes the read models, the query service only reads them. */
export const READ_DATABASE_ROLES = {
  /** projector: DML on the tables its projections write. */
  projector: 'cqrs_projector',
  /** query-service: SELECT on what its routes read, nothing else. */
  query: 'cqrs_query',
} as const;

/** What a projection's statements run on: a pool or a client inside the batch's transaction. */
// Rows as `any`, as pg types them: a projection reads its own tables and knows their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Queryable = { query(text: string, values?: unknown[]): Promise<{ rows: any[] }> };

/** A bounded context's read-model migrations: one history table and one lock per context. */
export interface ReadModelMigrations {
  context: string;
  migrations: (new () => MigrationInterface)[];
  /** Its TypeORM history table, e.g. `projects_read_migrations`. */
  migrationsTable: string;
  /** Advisory lock name; @default `cqrs.read-model.migrations.<context>` */
  lock?: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** A table or column name that is safe to splice into SQL (lower-case identifier), else throws. */
export function sqlIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`"${name}" is not a lower-case SQL identifier`);
  return name;
}

/**
 * The checkpoint table of stream projections: per projection and stream, the last version
 * applied, and the first version parked (a stream with a parked event applies nothing after it
 * until an operator deals with it, so no stream is ever applied out of order).
 */
export function checkpointTableSql(table: string): string {
  const t = sqlIdentifier(table);
  return `CREATE TABLE IF NOT EXISTS ${t} (
    projection text NOT NULL,
    stream_id text NOT NULL,
    version integer NOT NULL DEFAULT 0,
    parked_version integer,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, stream_id)
  )`;
}

/** Grants the projector role what a projection's statements need on `tables`. */
export async function grantProjectorTables(q: Queryable, tables: readonly string[]): Promise<void> {
  if (tables.length === 0) return;
  await q.query(
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${tables.map(sqlIdentifier).join(', ')} TO ${READ_DATABASE_ROLES.projector}`,
  );
}

/** Grants the query role read access to `tables` (what its routes read, and nothing else). */
export async function grantQueryTables(q: Queryable, tables: readonly string[]): Promise<void> {
  if (tables.length === 0) return;
  await q.query(`GRANT SELECT ON ${tables.map(sqlIdentifier).join(', ')} TO ${READ_DATABASE_ROLES.query}`);
}

/**
 * Applies every pending migration of each context's set, in order, to the read database at `url`
 * (as its owner role) and returns the names applied, prefixed with the context. Safe on every
 * deploy: a current database applies nothing; two deploys at once serialise on each set's lock.
 */
export async function migrateReadModels(
  url: string,
  sets: readonly ReadModelMigrations[],
  options: { connectTimeoutMs?: number } = {},
): Promise<string[]> {
  const applied: string[] = [];
  for (const set of sets) {
    const dataSource = new DataSource({
      type: 'postgres',
      url,
      poolSize: 2,
      applicationName: 'cqrs-read-model-migrate',
      connectTimeoutMS: options.connectTimeoutMs ?? 10_000,
      synchronize: false,
      migrationsRun: false,
      migrations: set.migrations,
      migrationsTableName: set.migrationsTable,
      migrationsTransactionMode: 'each',
      entities: [],
      logging: false,
    });
    await dataSource.initialize();
    try {
      const names = await runMigrationsLocked(dataSource, set.lock ?? `cqrs.read-model.migrations.${set.context}`);
      applied.push(...names.map((n) => `${set.context}: ${n}`));
    } finally {
      await dataSource.destroy();
    }
  }
  return applied;
}
