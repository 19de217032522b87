import type { Queryable } from '@cqrs/projection';
import type { TaskProgressStatus } from './task-progress.projection';

/** A project as the query side answers it: the view, plus its tasks' progress. */
export interface ProjectView {
  projectId: string;
  ownerId: string;
  name: string;
  status: 'active' | 'archived';
  version: number;
  createdAt: string;
  updatedAt: string;
  /** The project's tasks by status; `unknown` counts tasks whose events were not seen (yet). */
  progress: Record<TaskProgressStatus | 'unknown', number> & { total: number };
}

interface Row {
  id: string;
  owner: string;
  name: string;
  status: 'active' | 'archived';
  version: string;
  created_at: Date;
  updated_at: Date;
  progress: Record<string, number> | null;
}

const SELECT = `
  SELECT v.id, v.owner, v.name, v.status, v.version, v.created_at, v.updated_at,
         (SELECT jsonb_object_agg(s.status, s.n) FROM (
            SELECT coalesce(ts.status, 'unknown') AS status, count(*)::int AS n
              FROM projects_project_tasks pt LEFT JOIN projects_task_states ts ON ts.task_id = pt.task_id
             WHERE pt.project_id = v.id GROUP BY 1) s) AS progress
    FROM projects_project_views v`;

const toView = (r: Row): ProjectView => {
  const counts = { open: 0, started: 0, completed: 0, abandoned: 0, deleted: 0, unknown: 0, ...(r.progress ?? {}) };
  return {
    projectId: r.id,
    ownerId: r.owner,
    name: r.name,
    status: r.status,
    version: Number(r.version),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    progress: { ...counts, total: Object.values(counts).reduce((a, b) => a + b, 0) },
  };
};

/** The projects read model as the query service reads it (with the query role: SELECT only). */
export class ProjectReader {
  constructor(private readonly db: Queryable) {}

  /** The project, or null when there is none (owner checks are the caller's). */
  async get(projectId: string): Promise<ProjectView | null> {
    const { rows } = await this.db.query(`${SELECT} WHERE v.id = $1`, [projectId]);
    const row = rows[0] as Row | undefined;
    return row ? toView(row) : null;
  }

  /** An owner's projects, most recently changed first. */
  async listByOwner(ownerId: string, limit: number): Promise<ProjectView[]> {
    const { rows } = await this.db.query(`${SELECT} WHERE v.owner = $1 ORDER BY v.updated_at DESC, v.id LIMIT $2`, [
      ownerId,
      limit,
    ]);
    return (rows as Row[]).map(toView);
  }

  /**
   * The version the read model has of each project (absent: none yet), for read-your-writes;
   * with `visibleTo`, only that owner's projects (someone else's version is not theirs to learn).
   */
  async versions(projectIds: string[], visibleTo?: string): Promise<Map<string, number>> {
    const { rows } = await this.db.query(
      'SELECT id, version FROM projects_project_views WHERE id = ANY($1::text[]) AND ($2::text IS NULL OR owner = $2)',
      [projectIds, visibleTo ?? null],
    );
    return new Map((rows as { id: string; version: string }[]).map((r) => [r.id, Number(r.version)]));
  }
}
