/**
 * What the outside world tells the domain about the moment a command is handled. The domain
 * never reads a clock or generates ids itself, so deciding stays a pure, repeatable function.
 */
export interface CommandMetadata {
  /** When the command is handled, an ISO-8601 instant (`new Date().toISOString()` at the edge). */
  now: string;
  /** Who issues the command: the authenticated subject. */
  actor: string;
}

export interface CreateProject {
  type: 'CreateProject';
  data: {
    /** Generated at the edge (the command service) so a retried create can be recognised. */
    projectId: string;
    /** The creating actor (the edge sets it from the authenticated subject). */
    ownerId: string;
    name: string;
  };
  metadata: CommandMetadata;
}

export interface RenameProject {
  type: 'RenameProject';
  data: { projectId: string; name: string };
  metadata: CommandMetadata;
}

export interface ArchiveProject {
  type: 'ArchiveProject';
  data: { projectId: string };
  metadata: CommandMetadata;
}

/** Puts a task (of the tasks context, by id) into the project; its progress then counts it. */
export interface AddTaskToProject {
  type: 'AddTaskToProject';
  data: { projectId: string; taskId: string };
  metadata: CommandMetadata;
}

export type ProjectCommand = CreateProject | RenameProject | ArchiveProject | AddTaskToProject;
export type ProjectCommandType = ProjectCommand['type'];
