import type { Pool } from 'pg';
import { TASKS_PROJECTION_SWITCHED_CHANNEL } from '../notifications';
import { inTransaction } from '../store/in-transaction';
import {
  createGenerationIndexes,
  createGenerationTables,
  dropGenerationTables,
  pointViewsAt,
  TASKS_PROJECTION,
  type SqlRunner,
} from './read-model.schema';

/** A row of `projection_generations`. */
export interface GenerationInfo {
  generation: number;
  status: 'building' | 'active' | 'retired';
  createdAt: Date;
  activatedAt: Date | null;
  retiredAt: Date | null;
}

/** Raised when the read database has no active generation: it has not been migrated. */
export class ReadModelNotMigratedError extends Error {
  readonly code = 'READ_MODEL_NOT_MIGRATED';
  readonly kind = 'unavailable';
  readonly retriable = true;
  constructor(cause?: unknown) {
    super('the read database has no active tasks projection; run `npm run db:migrate:read`', { cause });
    this.name = 'ReadModelNotMigratedError';
  }
}

/** The generation that answers queries now. */
export async function activeGeneration(sql: SqlRunner): Promise<number> {
  try {
    const result = (await sql.query(
      `SELECT generation FROM projection_generations WHERE projection = $1 AND status = 'active'`,
      [TASKS_PROJECTION],
    )) as { rows: { generation: number }[] };
    const row = result.rows[0];
    if (!row) throw new ReadModelNotMigratedError();
    return row.generation;
  } catch (error) {
    // 42P01: undefined_table — nothing has been migrated yet.
    if ((error as { code?: string }).code === '42P01') throw new ReadModelNotMigratedError(error);
    throw error;
  }
}

/** Every generation of the tasks projection, newest first. */
export async function listGenerations(sql: SqlRunner): Promise<GenerationInfo[]> {
  const result = (await sql.query(
    `SELECT generation, status, created_at, activated_at, retired_at FROM projection_generations
      WHERE projection = $1 ORDER BY generation DESC`,
    [TASKS_PROJECTION],
  )) as {
    rows: {
      generation: number;
      status: GenerationInfo['status'];
      created_at: Date;
      activated_at: Date | null;
      retired_at: Date | null;
    }[];
  };
  return result.rows.map((r) => ({
    generation: r.generation,
    status: r.status,
    createdAt: r.created_at,
    activatedAt: r.activated_at,
    retiredAt: r.retired_at,
  }));
}

/**
 * Owner-only operations on generations (DDL): `ownerPool` must connect as the role that owns the
 * read database's tables (`MIGRATIONS_READ_DATABASE_URL`): only a table's owner grants on it, and
 * `createGenerationTables` grants the projector its new tables.
 */
export class GenerationAdmin {
  constructor(private readonly ownerPool: Pool) {}

  /**
   * Creates the tables of a new generation (without secondary indexes, for a fast load) and
   * records it as `building`. Any generation still `building` from an abandoned rebuild is dropped.
   */
  async startBuilding(): Promise<number> {
    return inTransaction(this.ownerPool, async (client) => {
      await client.query(`LOCK TABLE projection_generations IN EXCLUSIVE MODE`);
      const stale = await client.query<{ generation: number }>(
        `DELETE FROM projection_generations WHERE projection = $1 AND status = 'building' RETURNING generation`,
        [TASKS_PROJECTION],
      );
      for (const { generation } of stale.rows) await dropGenerationTables(client, generation);
      const next = await client.query<{ next: number }>(
        `SELECT coalesce(max(generation), 0) + 1 AS next FROM projection_generations WHERE projection = $1`,
        [TASKS_PROJECTION],
      );
      const generation = next.rows[0]?.next ?? 1;
      await createGenerationTables(client, generation);
      await client.query(
        `INSERT INTO projection_generations (projection, generation, status) VALUES ($1, $2, 'building')`,
        [TASKS_PROJECTION, generation],
      );
      return generation;
    });
  }

  /** Builds the query indexes of a generation (before it is activated). */
  async createIndexes(generation: number): Promise<void> {
    await createGenerationIndexes(this.ownerPool, generation);
  }

  /**
   * Makes `generation` the one that answers queries: views re-pointed, the previous active one
   * retired, and a NOTIFY so query services drop their caches and projectors follow — one
   * transaction, so a reader sees either the old generation or the new one, never a mix.
   */
  async activate(generation: number): Promise<{ previous: number | null }> {
    return inTransaction(this.ownerPool, async (client) => {
      await client.query(`LOCK TABLE projection_generations IN EXCLUSIVE MODE`);
      const target = await client.query<{ status: string }>(
        `SELECT status FROM projection_generations WHERE projection = $1 AND generation = $2`,
        [TASKS_PROJECTION, generation],
      );
      if (target.rows[0]?.status !== 'building')
        throw new Error(`generation ${generation} is not being built (status: ${target.rows[0]?.status ?? 'none'})`);
      const previous = await client.query<{ generation: number }>(
        `UPDATE projection_generations SET status = 'retired', retired_at = now()
          WHERE projection = $1 AND status = 'active' RETURNING generation`,
        [TASKS_PROJECTION],
      );
      await client.query(
        `UPDATE projection_generations SET status = 'active', activated_at = now() WHERE projection = $1 AND generation = $2`,
        [TASKS_PROJECTION, generation],
      );
      await pointViewsAt(client, generation);
      await client.query(`SELECT pg_notify($1, $2)`, [
        TASKS_PROJECTION_SWITCHED_CHANNEL,
        JSON.stringify({ g: generation }),
      ]);
      return { previous: previous.rows[0]?.generation ?? null };
    });
  }

  /** Drops retired generations except the newest `keep` (kept for a quick look back). */
  async dropRetired(keep = 1): Promise<number[]> {
    return inTransaction(this.ownerPool, async (client) => {
      const retired = await client.query<{ generation: number }>(
        `SELECT generation FROM projection_generations WHERE projection = $1 AND status = 'retired' ORDER BY generation DESC OFFSET $2`,
        [TASKS_PROJECTION, keep],
      );
      for (const { generation } of retired.rows) {
        await dropGenerationTables(client, generation);
        await client.query(`DELETE FROM projection_generations WHERE projection = $1 AND generation = $2`, [
          TASKS_PROJECTION,
          generation,
        ]);
      }
      return retired.rows.map((r) => r.generation);
    });
  }

  /** Abandons a generation that is being built: its tables are dropped. */
  async abandon(generation: number): Promise<void> {
    await inTransaction(this.ownerPool, async (client) => {
      const deleted = await client.query(
        `DELETE FROM projection_generations WHERE projection = $1 AND generation = $2 AND status = 'building'`,
        [TASKS_PROJECTION, generation],
      );
      if (deleted.rowCount) await dropGenerationTables(client, generation);
    });
  }
}
