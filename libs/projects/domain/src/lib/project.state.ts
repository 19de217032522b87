import { assertNever } from '@cqrs/util';
import type { ProjectEvent } from './project.events';

/**
 * Version of the {@link Project} state's shape. Bump it whenever `evolve` or the shape changes:
 * snapshots written with another version are ignored and the stream is replayed instead.
 */
export const STATE_SCHEMA_VERSION = 1;

/** A project that has been created. Plain JSON (strings, nulls) so it can be snapshotted as is. */
export interface ExistingProject {
  /** An archived project takes no more commands. */
  status: 'active' | 'archived';
  projectId: string;
  ownerId: string;
  name: string;
  /** The tasks added to it, in the order they were added (at most PROJECT_LIMITS.maxTasks). */
  taskIds: string[];
  createdAt: string;
  /** When it last changed in any way. */
  updatedAt: string;
}

/** The state of a project stream: nothing yet, or a project. */
export type Project = { status: 'none' } | ExistingProject;

export const initialState = (): Project => ({ status: 'none' });

/**
 * Applies one recorded event. Events are facts already accepted by `decide`, so evolve does no
 * validation; an event that cannot follow the current state means the stream is corrupt, and
 * failing loudly beats building state out of thin air.
 */
export function evolve(state: Project, event: ProjectEvent): Project {
  switch (event.type) {
    case 'ProjectCreated': {
      if (state.status !== 'none') throw corrupt(event, state);
      const { projectId, ownerId, name, createdAt } = event.data;
      return { status: 'active', projectId, ownerId, name, taskIds: [], createdAt, updatedAt: createdAt };
    }
    case 'ProjectRenamed':
      if (state.status !== 'active') throw corrupt(event, state);
      return { ...state, name: event.data.name, updatedAt: event.data.occurredAt };
    case 'ProjectArchived':
      if (state.status !== 'active') throw corrupt(event, state);
      return { ...state, status: 'archived', updatedAt: event.data.occurredAt };
    case 'TaskAddedToProject':
      if (state.status !== 'active') throw corrupt(event, state);
      return { ...state, taskIds: [...state.taskIds, event.data.taskId], updatedAt: event.data.occurredAt };
    default:
      return assertNever(event, 'project event');
  }
}

function corrupt(event: ProjectEvent, state: Project): Error {
  return new Error(`corrupt project stream: ${event.type} cannot follow state '${state.status}'`);
}
