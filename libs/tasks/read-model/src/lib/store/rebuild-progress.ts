import { TASKS_PROJECTION, type SqlRunner } from '../schema/read-model.schema';

/** Where a rebuild reads history from: the event store (then Kafka), or Kafka from offset 0. */
export type RebuildSource = 'store' | 'kafka';
/** `interrupted` and `failed` store rebuilds whose generation is still building can be resumed. */
export type RebuildStatus = 'running' | 'interrupted' | 'failed' | 'done' | 'abandoned';

/** A partition's end offset noted before the store was read: where the generation's group starts. */
export interface NotedOffset {
  topic: string;
  partition: number;
  offset: string;
}

/** A row of `projection_rebuilds`. */
export interface RebuildRecord {
  id: number;
  generation: number;
  source: RebuildSource;
  status: RebuildStatus;
  /** What it is doing: `reading-store`, `catching-up`, `indexing`, `activating`, `handing-off`, … */
  phase: string;
  kafkaOffsets: NotedOffset[];
  /** The store position every event up to which is applied and committed (store rebuilds). */
  storePosition: number | null;
  /** Events done when `storePosition` was committed (where a resume counts on from). */
  eventsAtPosition: number;
  eventsDone: number;
  /** Events the rebuild expects to apply in all (store: counted in its snapshot; Kafka: records on the topics). */
  eventsExpected: number | null;
  eventsPerSecond: number;
  resumes: number;
  /** Who runs it (`host:pid`), to tell a live rebuild from a dead one. */
  runner: string | null;
  error: string | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** Fields a progress update may change. */
export type RebuildProgressPatch = Partial<
  Pick<
    RebuildRecord,
    | 'status'
    | 'phase'
    | 'kafkaOffsets'
    | 'storePosition'
    | 'eventsAtPosition'
    | 'eventsDone'
    | 'eventsExpected'
    | 'eventsPerSecond'
    | 'runner'
    | 'error'
  >
>;

interface RebuildRow {
  id: string;
  generation: number;
  source: RebuildSource;
  status: RebuildStatus;
  phase: string;
  kafka_offsets: NotedOffset[];
  store_position: string | null;
  events_at_position: string;
  events_done: string;
  events_expected: string | null;
  events_per_second: number;
  resumes: number;
  runner: string | null;
  error: string | null;
  started_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const toRecord = (r: RebuildRow): RebuildRecord => ({
  id: Number(r.id),
  generation: r.generation,
  source: r.source,
  status: r.status,
  phase: r.phase,
  kafkaOffsets: r.kafka_offsets,
  storePosition: r.store_position === null ? null : Number(r.store_position),
  eventsAtPosition: Number(r.events_at_position),
  eventsDone: Number(r.events_done),
  eventsExpected: r.events_expected === null ? null : Number(r.events_expected),
  eventsPerSecond: r.events_per_second,
  resumes: r.resumes,
  runner: r.runner,
  error: r.error,
  startedAt: r.started_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

const COLUMNS: Record<keyof RebuildProgressPatch, string> = {
  status: 'status',
  phase: 'phase',
  kafkaOffsets: 'kafka_offsets',
  storePosition: 'store_position',
  eventsAtPosition: 'events_at_position',
  eventsDone: 'events_done',
  eventsExpected: 'events_expected',
  eventsPerSecond: 'events_per_second',
  runner: 'runner',
  error: 'error',
};

const FINAL: readonly RebuildStatus[] = ['done', 'abandoned'];

/**
 * The rebuilds' progress in the read database (`projection_rebuilds`): written by the CLI that
 * runs a rebuild, read by the running projector (its gauges) and by `rebuild --resume`.
 *
 * @param sql the projector role's pool (or any runner with its privileges)
 */
export class RebuildProgressStore {
  constructor(private readonly sql: SqlRunner) {}

  /** Records a new rebuild of `generation`, running. */
  async start(input: {
    generation: number;
    source: RebuildSource;
    kafkaOffsets?: NotedOffset[];
    runner?: string;
    phase?: string;
  }): Promise<RebuildRecord> {
    const result = (await this.sql.query(
      `INSERT INTO projection_rebuilds (projection, generation, source, phase, kafka_offsets, runner)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING *`,
      [
        TASKS_PROJECTION,
        input.generation,
        input.source,
        input.phase ?? 'starting',
        JSON.stringify(input.kafkaOffsets ?? []),
        input.runner ?? null,
      ],
    )) as { rows: RebuildRow[] };
    return toRecord(result.rows[0]!);
  }

  /**
   * Changes the given fields (and `updated_at`); a final status also sets `finished_at`. Pass
   * `sql` to make it part of a transaction (a store rebuild moves its position with its rows).
   */
  async update(id: number, patch: RebuildProgressPatch, sql: SqlRunner = this.sql): Promise<void> {
    const sets: string[] = ['updated_at = now()'];
    const params: unknown[] = [id];
    for (const [key, value] of Object.entries(patch) as [keyof RebuildProgressPatch, unknown][]) {
      if (value === undefined) continue;
      params.push(key === 'kafkaOffsets' ? JSON.stringify(value) : value);
      sets.push(`${COLUMNS[key]} = $${params.length}${key === 'kafkaOffsets' ? '::jsonb' : ''}`);
    }
    if (patch.status !== undefined) sets.push(`finished_at = ${patch.status === 'running' ? 'NULL' : 'now()'}`);
    await sql.query(`UPDATE projection_rebuilds SET ${sets.join(', ')} WHERE id = $1`, params);
  }

  /** A resumed rebuild: running again, under `runner`, one more resume counted. */
  async resume(id: number, runner: string): Promise<void> {
    await this.sql.query(
      `UPDATE projection_rebuilds SET status = 'running', runner = $2, resumes = resumes + 1, error = NULL, finished_at = NULL, updated_at = now() WHERE id = $1`,
      [id, runner],
    );
  }

  async get(id: number): Promise<RebuildRecord | undefined> {
    const result = (await this.sql.query(`SELECT * FROM projection_rebuilds WHERE id = $1`, [id])) as {
      rows: RebuildRow[];
    };
    return result.rows[0] && toRecord(result.rows[0]);
  }

  /** The most recent rebuild (what the gauges show). */
  async latest(): Promise<RebuildRecord | undefined> {
    const result = (await this.sql.query(
      `SELECT * FROM projection_rebuilds WHERE projection = $1 ORDER BY id DESC LIMIT 1`,
      [TASKS_PROJECTION],
    )) as {
      rows: RebuildRow[];
    };
    return result.rows[0] && toRecord(result.rows[0]);
  }

  /**
   * The newest store rebuild that did not finish and whose generation is still being built:
   * what `rebuild --resume` continues. (It may still be `running`: check `runner` and `updatedAt`.)
   */
  async resumable(): Promise<RebuildRecord | undefined> {
    const result = (await this.sql.query(
      `SELECT r.* FROM projection_rebuilds r
         JOIN projection_generations g ON g.projection = r.projection AND g.generation = r.generation AND g.status = 'building'
        WHERE r.projection = $1 AND r.source = 'store' AND r.status <> ALL($2::text[])
        ORDER BY r.id DESC LIMIT 1`,
      [TASKS_PROJECTION, FINAL],
    )) as { rows: RebuildRow[] };
    return result.rows[0] && toRecord(result.rows[0]);
  }

  /**
   * Rebuilds marked running, with how long ago each last reported (a running rebuild reports
   * every few seconds; one silent for long died without saying so).
   */
  async running(): Promise<(RebuildRecord & { silentForMs: number })[]> {
    const result = (await this.sql.query(
      `SELECT *, (extract(epoch FROM clock_timestamp() - updated_at) * 1000)::float8 AS silent_ms FROM projection_rebuilds
        WHERE projection = $1 AND status = 'running' ORDER BY id`,
      [TASKS_PROJECTION],
    )) as { rows: (RebuildRow & { silent_ms: number })[] };
    return result.rows.map((r) => ({ ...toRecord(r), silentForMs: r.silent_ms }));
  }

  /**
   * Marks every unfinished rebuild abandoned (a store rebuild that failed included: it could have
   * been resumed): a new rebuild is starting, and it drops whatever generation is still building.
   */
  async abandonUnfinished(): Promise<number> {
    const result = (await this.sql.query(
      `UPDATE projection_rebuilds SET status = 'abandoned', finished_at = now(), updated_at = now()
        WHERE projection = $1 AND (status IN ('running', 'interrupted') OR (status = 'failed' AND source = 'store'))`,
      [TASKS_PROJECTION],
    )) as { rowCount: number | null };
    return result.rowCount ?? 0;
  }
}
