import {
  activeGeneration,
  emptyCounts,
  generationTables,
  taskViewFromRow,
  type GenerationTables,
  type StatusCounts,
  type TaskView,
  type TaskViewRow,
} from '@cqrs/tasks-read-model';
import type { Pool, PoolClient } from 'pg';

/** What the read model holds of one stream. */
export interface ReadModelStream {
  streamId: string;
  /** The checkpoint's version (the projector's exactly-once guard); null: no checkpoint. */
  checkpoint: number | null;
  /** The checkpoint's parked flag. */
  checkpointParked: boolean;
  view: TaskView | undefined;
  /** Records of the stream in `parked_events`. */
  parkedCount: number;
  /** Lowest version among them (null: none, or none with a version). */
  parkedFrom: number | null;
}

/** The version the read model reflects for a stream: its checkpoint, else its row's, else 0. */
export const readModelVersion = (rm: ReadModelStream | undefined): number => rm?.checkpoint ?? rm?.view?.version ?? 0;

type Row = Partial<TaskViewRow> & {
  rm_stream: string;
  cp_version: string | null;
  cp_parked: boolean | null;
  parked_count: string;
  parked_from: string | null;
};

/**
 * One `REPEATABLE READ READ ONLY` snapshot of the active generation: rows, checkpoints, parked
 * records and statistics as of one instant, so statistics are compared with the very rows they
 * count even while the projector writes. Taken before the store's snapshot, so the store has
 * every event the read model reflects.
 */
export class ReadModelSnapshot {
  private constructor(
    private readonly client: PoolClient,
    readonly generation: number,
    private readonly t: GenerationTables,
  ) {}

  static async open(pool: Pool): Promise<ReadModelSnapshot> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The first statement takes the snapshot: the generation and its tables as of then.
      const generation = await activeGeneration(client);
      return new ReadModelSnapshot(client, generation, generationTables(generation));
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
      throw error;
    }
  }

  /** Streams with a row, a checkpoint or a parked record whose id is in (`after`, `upTo`] (null: unbounded). */
  range(after: string | null, upTo: string | null): Promise<Map<string, ReadModelStream>> {
    const params: string[] = [];
    const bound = (column: string) => {
      const parts: string[] = [];
      if (after !== null) parts.push(`${column} > $1::text`);
      if (upTo !== null) parts.push(`${column} <= $${after !== null ? 2 : 1}::text`);
      return parts.length > 0 ? parts.join(' AND ') : 'true';
    };
    if (after !== null) params.push(after);
    if (upTo !== null) params.push(upTo);
    return this.streams(
      `SELECT stream_id FROM ${this.t.stream_checkpoints} WHERE ${bound('stream_id')}
       UNION SELECT task_id FROM ${this.t.task_view} WHERE ${bound('task_id')}
       UNION SELECT stream_id FROM ${this.t.parked_events} WHERE stream_id IS NOT NULL AND ${bound('stream_id')}`,
      params,
    );
  }

  /** Those of `ids` that the read model knows. */
  byIds(ids: readonly string[]): Promise<Map<string, ReadModelStream>> {
    return this.streams(
      `SELECT stream_id FROM ${this.t.stream_checkpoints} WHERE stream_id = ANY($1::text[])
       UNION SELECT task_id FROM ${this.t.task_view} WHERE task_id = ANY($1::text[])
       UNION SELECT stream_id FROM ${this.t.parked_events} WHERE stream_id = ANY($1::text[])`,
      [ids],
    );
  }

  /** Every user's stored statistics (`owners`: only theirs). */
  async stats(owners?: readonly string[]): Promise<Map<string, StatusCounts>> {
    const result = await this.client.query<{ owner_id: string; o: string; s: string; c: string; a: string; d: string }>(
      `SELECT owner_id, open_count AS o, started_count AS s, completed_count AS c, abandoned_count AS a, deleted_count AS d
         FROM ${this.t.user_task_stats} ${owners ? 'WHERE owner_id = ANY($1::text[])' : ''}`,
      owners ? [owners] : [],
    );
    return new Map(
      result.rows.map((r) => [
        r.owner_id,
        {
          open: Number(r.o),
          started: Number(r.s),
          completed: Number(r.c),
          abandoned: Number(r.a),
          deleted: Number(r.d),
        },
      ]),
    );
  }

  /** Users' counts of rows per status (what their statistics must say). */
  async rowCounts(owners: readonly string[]): Promise<Map<string, StatusCounts>> {
    const result = await this.client.query<{ owner_id: string; status: keyof StatusCounts; n: string }>(
      `SELECT owner_id, status, count(*) AS n FROM ${this.t.task_view} WHERE owner_id = ANY($1::text[]) GROUP BY owner_id, status`,
      [owners],
    );
    const counts = new Map(owners.map((o) => [o, emptyCounts()]));
    for (const r of result.rows) {
      const c = counts.get(r.owner_id);
      if (c && r.status in c) c[r.status] = Number(r.n);
    }
    return counts;
  }

  async close(): Promise<void> {
    try {
      await this.client.query('ROLLBACK');
      this.client.release();
    } catch (error) {
      this.client.release(error as Error);
    }
  }

  private async streams(ids: string, params: unknown[]): Promise<Map<string, ReadModelStream>> {
    const result = await this.client.query<Row>(
      `WITH ids AS (${ids})
       SELECT ids.stream_id AS rm_stream, c.version AS cp_version, c.parked AS cp_parked,
              (SELECT count(*) FROM ${this.t.parked_events} p WHERE p.stream_id = ids.stream_id) AS parked_count,
              (SELECT min(aggregate_version) FROM ${this.t.parked_events} p WHERE p.stream_id = ids.stream_id) AS parked_from,
              v.*
         FROM ids
         LEFT JOIN ${this.t.stream_checkpoints} c ON c.stream_id = ids.stream_id
         LEFT JOIN ${this.t.task_view} v ON v.task_id = ids.stream_id`,
      params,
    );
    return new Map(
      result.rows.map((r) => [
        r.rm_stream,
        {
          streamId: r.rm_stream,
          checkpoint: r.cp_version === null ? null : Number(r.cp_version),
          checkpointParked: r.cp_parked ?? false,
          view: r.task_id ? taskViewFromRow(r as TaskViewRow) : undefined,
          parkedCount: Number(r.parked_count),
          parkedFrom: r.parked_from === null ? null : Number(r.parked_from),
        },
      ]),
    );
  }
}
