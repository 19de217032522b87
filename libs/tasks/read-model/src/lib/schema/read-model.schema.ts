import { READ_DATABASE_ROLES } from '@cqrs/projection';
/**
 * The read database's layout. Every read model lives in tables suffixed with a *generation*
 * (`task_view_g3`); stable views without the suffix (`task_view`) point at the active one, so a
 * rebuild fills fresh tables while queries keep reading the old ones, and switching is one
 * `CREATE OR REPLACE VIEW` transaction. `projection_generations` records which generation is
 * active, which is being built and which are retired.
 */

/** Anything that runs SQL: a `pg` client or pool, or a TypeORM QueryRunner. */
export interface SqlRunner {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** Name of the tasks projection in `projection_generations`. */
export const TASKS_PROJECTION = 'tasks';

/** The per-generation tables, by role. */
export const READ_MODEL_TABLES = [
  'task_view',
  'user_task_stats',
  'stream_checkpoints',
  'parked_events',
  'partition_positions',
] as const;
export type ReadModelTable = (typeof READ_MODEL_TABLES)[number];

/**
 * The read database's app roles. Migrations and rebuilds grant to these names, so every
 * environment has roles with them: locally the login roles themselves
 * (tools/local-stack/postgres/init.sql), elsewhere either the login roles or NOLOGIN roles granted
 * to whatever login roles the apps use (`GRANT cqrs_query TO app_query_2025`).
 */
export { READ_DATABASE_ROLES };

/** The views the query service reads: the read models, not the projector's bookkeeping. */
export const QUERY_VIEWS = [
  'task_view',
  'user_task_stats',
  'stream_checkpoints',
] as const satisfies readonly ReadModelTable[];

/** Physical table names of one generation, e.g. `{ task_view: 'task_view_g2', ... }`. */
export type GenerationTables = Record<ReadModelTable, string>;

/** Table names of generation `generation` (validated: the names are interpolated into SQL). */
export function generationTables(generation: number): GenerationTables {
  if (!Number.isSafeInteger(generation) || generation < 1)
    throw new RangeError(`invalid read-model generation: ${generation}`);
  return Object.fromEntries(READ_MODEL_TABLES.map((t) => [t, `${t}_g${generation}`])) as GenerationTables;
}

/**
 * Creates the tables of one generation in their *current* shape. A migration that changes a
 * table's shape must change this function too and alter the existing generations, so a
 * rebuild always builds what the code reads.
 *
 * Secondary indexes are separate ({@link createGenerationIndexes}) so a rebuild can load rows
 * first and index once, which is several times faster than maintaining indexes per insert.
 */
export async function createGenerationTables(sql: SqlRunner, generation: number): Promise<void> {
  const t = generationTables(generation);
  await sql.query(`
    CREATE TABLE ${t.task_view} (
      task_id        text        NOT NULL PRIMARY KEY,
      owner_id       text        NOT NULL,
      title          text        NOT NULL,
      description    text,
      due_date       text,
      priority       text        NOT NULL,
      status         text        NOT NULL,
      created_at     timestamptz NOT NULL,
      updated_at     timestamptz NOT NULL,
      started_at     timestamptz,
      completed_at   timestamptz,
      abandoned_at   timestamptz,
      abandon_reason text,
      deleted_at     timestamptz,
      version        bigint      NOT NULL
    )`);
  await sql.query(`
    CREATE TABLE ${t.user_task_stats} (
      owner_id        text   NOT NULL PRIMARY KEY,
      open_count      bigint NOT NULL DEFAULT 0,
      started_count   bigint NOT NULL DEFAULT 0,
      completed_count bigint NOT NULL DEFAULT 0,
      abandoned_count bigint NOT NULL DEFAULT 0,
      deleted_count   bigint NOT NULL DEFAULT 0
    )`);
  // The exactly-once guard: an event is applied only when it is version + 1 of its stream here.
  await sql.query(`
    CREATE TABLE ${t.stream_checkpoints} (
      stream_id text    NOT NULL PRIMARY KEY,
      version   bigint  NOT NULL,
      parked    boolean NOT NULL DEFAULT false
    )`);
  await sql.query(`
    CREATE TABLE ${t.parked_events} (
      id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      stream_id        text,
      aggregate_version bigint,
      source_topic     text        NOT NULL,
      source_partition integer     NOT NULL,
      source_offset    bigint      NOT NULL,
      message_key      bytea,
      message_value    bytea,
      headers          jsonb       NOT NULL DEFAULT '{}'::jsonb,
      reason           text        NOT NULL,
      error_code       text        NOT NULL,
      error_message    text        NOT NULL,
      attempts         integer     NOT NULL,
      first_failed_at  timestamptz NOT NULL,
      parked_at        timestamptz NOT NULL DEFAULT now(),
      last_attempt_at  timestamptz NOT NULL DEFAULT now(),
      UNIQUE (source_topic, source_partition, source_offset)
    )`);
  await sql.query(`CREATE INDEX ${t.parked_events}_stream_idx ON ${t.parked_events} (stream_id, id)`);
  await sql.query(`
    CREATE TABLE ${t.partition_positions} (
      topic       text        NOT NULL,
      partition   integer     NOT NULL,
      last_offset bigint      NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (topic, partition)
    )`);
  await grantGenerationTables(sql, generation);
}

/**
 * The projector's DML on one generation's tables (the owner creates them, the projector fills
 * them; no TRUNCATE). The query role gets nothing here: it reads through the views, which run
 * with their owner's privileges.
 */
export async function grantGenerationTables(sql: SqlRunner, generation: number): Promise<void> {
  const t = generationTables(generation);
  const tables = READ_MODEL_TABLES.map((table) => t[table]).join(', ');
  await sql.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${tables} TO ${READ_DATABASE_ROLES.projector}`);
}

/** The query paths' indexes: a user's tasks newest first, with and without a status filter. */
export async function createGenerationIndexes(sql: SqlRunner, generation: number): Promise<void> {
  const t = generationTables(generation);
  await sql.query(
    `CREATE INDEX IF NOT EXISTS ${t.task_view}_owner_idx ON ${t.task_view} (owner_id, created_at DESC, task_id DESC) WHERE status <> 'deleted'`,
  );
  await sql.query(
    `CREATE INDEX IF NOT EXISTS ${t.task_view}_owner_status_idx ON ${t.task_view} (owner_id, status, created_at DESC, task_id DESC)`,
  );
}

/** Points the stable views at `generation`'s tables; run inside the transaction that activates it. */
export async function pointViewsAt(sql: SqlRunner, generation: number): Promise<void> {
  const t = generationTables(generation);
  for (const table of READ_MODEL_TABLES) {
    await sql.query(`CREATE OR REPLACE VIEW ${table} AS SELECT * FROM ${t[table]}`);
  }
}

/** Drops one generation's tables (never the active one: the views depend on it and refuse). */
export async function dropGenerationTables(sql: SqlRunner, generation: number): Promise<void> {
  const t = generationTables(generation);
  for (const table of READ_MODEL_TABLES) await sql.query(`DROP TABLE IF EXISTS ${t[table]}`);
}
