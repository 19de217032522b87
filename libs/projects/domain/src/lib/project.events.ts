/**
 * Events of the Project aggregate. The `type` strings are the wire event types
 * (schemas/projects/project) and must never change; a breaking change is a new event type.
 */

export interface ProjectCreated {
  type: 'ProjectCreated';
  data: {
    projectId: string;
    ownerId: string;
    name: string;
    createdAt: string;
  };
}

export interface ProjectRenamed {
  type: 'ProjectRenamed';
  data: { projectId: string; name: string; occurredAt: string };
}

export interface ProjectArchived {
  type: 'ProjectArchived';
  data: { projectId: string; occurredAt: string };
}

/** A task (of the tasks context) now belongs to the project. */
export interface TaskAddedToProject {
  type: 'TaskAddedToProject';
  data: { projectId: string; taskId: string; occurredAt: string };
}

export type ProjectEvent = ProjectCreated | ProjectRenamed | ProjectArchived | TaskAddedToProject;
export type ProjectEventType = ProjectEvent['type'];
