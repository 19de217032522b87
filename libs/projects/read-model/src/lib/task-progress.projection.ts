import type { ProjectedEvent, Queryable, StreamProjectionDefinition } from '@cqrs/projection';
import { tasksTaskEventsContracts, tasksTaskEventsTopic } from '@cqrs/tasks-contracts';
import { PROJECTS_CHECKPOINT_TABLE, PROJECTS_TASK_STATES_TABLE } from './read-model';

/** The status a task has after each event type of the tasks context (TaskUpdated keeps it). */
const STATUS_AFTER: Record<string, TaskProgressStatus | undefined> = {
  TaskCreated: 'open',
  TaskStarted: 'started',
  TaskCompleted: 'completed',
  TaskAbandoned: 'abandoned',
  TaskDeleted: 'deleted',
};

export type TaskProgressStatus = 'open' | 'started' | 'completed' | 'abandoned' | 'deleted';

/**
 * The cross-context flow: the projects context follows the tasks context's published events
 * (`tasks.task.events`, decoded with `@cqrs/tasks-contracts`) and keeps every task's status in its
 * own table. A project's progress is a join of its tasks with these states, so it does not
 * matter which arrives first, the task's events or the TaskAddedToProject.
 */
export async function applyTaskEvent(tx: Queryable, event: ProjectedEvent): Promise<void> {
  const status = STATUS_AFTER[event.type];
  const occurredAt = new Date((event.data as { occurredAt: number }).occurredAt);
  if (status)
    await tx.query(
      `INSERT INTO projects_task_states AS s (task_id, status, version, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (task_id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version,
         updated_at = EXCLUDED.updated_at WHERE s.version < EXCLUDED.version`,
      [event.streamId, status, event.version, occurredAt],
    );
  else
    await tx.query(
      `UPDATE projects_task_states SET version = $2, updated_at = $3 WHERE task_id = $1 AND version < $2`,
      [event.streamId, event.version, occurredAt],
    );
}

/** The projects context's projection of the tasks context's events. */
export const taskProgressProjection: StreamProjectionDefinition = {
  name: 'projects-task-progress',
  topics: [tasksTaskEventsTopic],
  contracts: tasksTaskEventsContracts,
  checkpointTable: PROJECTS_CHECKPOINT_TABLE,
  tables: [PROJECTS_TASK_STATES_TABLE],
  apply: applyTaskEvent,
};
