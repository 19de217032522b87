import type { Queryable } from './read-database';

/** The read database's table of operator controls (created by the tasks read model's migrations). */
export const PROJECTION_CONTROLS_TABLE = 'projection_controls';

/** A projection's recorded control: paused or not, by whom and when. */
export interface ProjectionControl {
  projection: string;
  paused: boolean;
  changedBy: string | null;
  changedAt: Date;
}

const UNDEFINED_TABLE = '42P01';

/** The read database lacks `projection_controls`: its migrations have not run (503 over HTTP). */
export class ControlsNotMigratedError extends Error {
  readonly code = 'READ_MODEL_NOT_MIGRATED';
  readonly kind = 'unavailable';

  constructor() {
    super(
      `the read database has no ${PROJECTION_CONTROLS_TABLE} table yet: run the read-model migrations (projector migrate)`,
    );
    this.name = 'ControlsNotMigratedError';
  }
}

/**
 * Pause and resume of projections, recorded in the read database so that every projector
 * instance follows them (each checks on its regular tick) and a restart keeps them. Before the
 * migration that creates the table, nothing is paused.
 */
export class ProjectionControls {
  constructor(private readonly db: Queryable) {}

  /** Whether `projection` is paused; false while the table does not exist yet. */
  async isPaused(projection: string): Promise<boolean> {
    return (await this.get(projection))?.paused ?? false;
  }

  /** The recorded control of `projection`, if an operator ever set one. */
  async get(projection: string): Promise<ProjectionControl | undefined> {
    try {
      const { rows } = await this.db.query(
        `SELECT projection, paused, changed_by, changed_at FROM ${PROJECTION_CONTROLS_TABLE} WHERE projection = $1`,
        [projection],
      );
      const row = rows[0] as { projection: string; paused: boolean; changed_by: string | null; changed_at: Date };
      return row
        ? { projection: row.projection, paused: row.paused, changedBy: row.changed_by, changedAt: row.changed_at }
        : undefined;
    } catch (error) {
      if ((error as { code?: string }).code === UNDEFINED_TABLE) return undefined;
      throw error;
    }
  }

  /** Records that `projection` is (or is no longer) paused; every instance follows on its next check. */
  async setPaused(projection: string, paused: boolean, changedBy: string | null): Promise<ProjectionControl> {
    const { rows } = await this.db
      .query(
        `INSERT INTO ${PROJECTION_CONTROLS_TABLE} (projection, paused, changed_by, changed_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (projection) DO UPDATE SET paused = EXCLUDED.paused, changed_by = EXCLUDED.changed_by, changed_at = now()
       RETURNING projection, paused, changed_by, changed_at`,
        [projection, paused, changedBy],
      )
      .catch((error: unknown) => {
        if ((error as { code?: string }).code === UNDEFINED_TABLE) throw new ControlsNotMigratedError();
        throw error;
      });
    const row = rows[0] as { projection: string; paused: boolean; changed_by: string | null; changed_at: Date };
    return { projection: row.projection, paused: row.paused, changedBy: row.changed_by, changedAt: row.changed_at };
  }
}
