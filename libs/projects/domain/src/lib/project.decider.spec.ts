import { deciderSpec } from '@cqrs/util';
import type {
  CreateProject,
  ProjectCommand,
  RenameProject,
  ArchiveProject,
  AddTaskToProject,
} from './project.commands';
import { projectDecider, validateProjectCommand } from './project.decider';
import { PROJECT_LIMITS } from './project.validation';
import type { ProjectEvent } from './project.events';

const { given } = deciderSpec(projectDecider);

const PROJECT_ID = '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11';
const OWNER_ID = 'user-42';
const CREATED_AT = '2025-01-01T09:00:00.000Z';
const NOW = '2025-01-05T09:00:00.000Z';
const metadata = { now: NOW, actor: OWNER_ID };

/** The history of a project that exists. */
const created: ProjectEvent = {
  type: 'ProjectCreated',
  data: { projectId: PROJECT_ID, ownerId: OWNER_ID, name: 'First project', createdAt: CREATED_AT },
};

describe('CreateProject', () => {
  const create = (data: Partial<CreateProject['data']> = {}): ProjectCommand => ({
    type: 'CreateProject',
    data: { projectId: PROJECT_ID, ownerId: OWNER_ID, name: 'First project', ...data },
    metadata,
  });

  it('records ProjectCreated for a new id, with the name trimmed', () => {
    given([])
      .when(create({ name: '  First project ' }))
      .then([
        {
          type: 'ProjectCreated',
          data: { projectId: PROJECT_ID, ownerId: OWNER_ID, name: 'First project', createdAt: NOW },
        },
      ]);
  });

  it('answers PROJECT_ALREADY_EXISTS for an id that is taken', () => {
    given([created]).when(create()).thenThrows('PROJECT_ALREADY_EXISTS');
  });

  it('answers VALIDATION_FAILED naming every bad field, before looking at the state', () => {
    const error = given([created])
      .when(create({ name: ' ', ownerId: '' }))
      .thenThrows('VALIDATION_FAILED');
    expect(error.details).toEqual({
      errors: [
        { field: 'ownerId', message: 'must be a non-blank identifier' },
        { field: 'name', message: 'is required' },
      ],
    });
    expect(() => validateProjectCommand(create({ name: '' }))).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });

  it('lets validateProjectCommand accept a well-formed command', () => {
    expect(() => validateProjectCommand(create())).not.toThrow();
  });
});

const TASK_ID = '0195e5c4-7f6b-7c1e-9a3d-5f2a8b6c4d10';
const archived: ProjectEvent = { type: 'ProjectArchived', data: { projectId: PROJECT_ID, occurredAt: CREATED_AT } };
const someoneElse = { ...metadata, actor: 'user-7' };

describe('RenameProject', () => {
  const command: RenameProject = {
    type: 'RenameProject',
    data: { projectId: PROJECT_ID, name: ' Renamed ' },
    metadata,
  };

  it("records ProjectRenamed with the trimmed name for the owner's active project", () => {
    given([created])
      .when(command)
      .then([{ type: 'ProjectRenamed', data: { projectId: PROJECT_ID, name: 'Renamed', occurredAt: NOW } }]);
  });

  it("answers PROJECT_NOT_FOUND when there is none, or it is someone else's", () => {
    given([]).when(command).thenThrows('PROJECT_NOT_FOUND');
    given([created])
      .when({ ...command, metadata: someoneElse })
      .thenThrows('PROJECT_NOT_FOUND');
  });

  it('answers PROJECT_ARCHIVED once the project is archived', () => {
    given([created, archived]).when(command).thenThrows('PROJECT_ARCHIVED');
  });

  it('answers VALIDATION_FAILED for a blank id or name, before looking at the state', () => {
    const error = given([])
      .when({ ...command, data: { projectId: ' ', name: '' } })
      .thenThrows('VALIDATION_FAILED');
    expect(error.details).toEqual({
      errors: [
        { field: 'projectId', message: 'must be a non-blank identifier' },
        { field: 'name', message: 'is required' },
      ],
    });
  });
});

describe('ArchiveProject', () => {
  const command: ArchiveProject = { type: 'ArchiveProject', data: { projectId: PROJECT_ID }, metadata };

  it("records ProjectArchived for the owner's active project", () => {
    given([created])
      .when(command)
      .then([{ type: 'ProjectArchived', data: { projectId: PROJECT_ID, occurredAt: NOW } }]);
  });

  it("answers PROJECT_NOT_FOUND when there is none, or it is someone else's", () => {
    given([]).when(command).thenThrows('PROJECT_NOT_FOUND');
    given([created])
      .when({ ...command, metadata: someoneElse })
      .thenThrows('PROJECT_NOT_FOUND');
  });

  it('answers PROJECT_ARCHIVED for a project archived already', () => {
    given([created, archived]).when(command).thenThrows('PROJECT_ARCHIVED');
  });

  it('answers VALIDATION_FAILED for a blank id', () => {
    given([created])
      .when({ ...command, data: { projectId: ' ' } })
      .thenThrows('VALIDATION_FAILED');
  });
});

describe('AddTaskToProject', () => {
  const command: AddTaskToProject = {
    type: 'AddTaskToProject',
    data: { projectId: PROJECT_ID, taskId: TASK_ID },
    metadata,
  };
  const added = (taskId: string): ProjectEvent => ({
    type: 'TaskAddedToProject',
    data: { projectId: PROJECT_ID, taskId, occurredAt: CREATED_AT },
  });

  it("records TaskAddedToProject for the owner's active project", () => {
    given([created])
      .when(command)
      .then([{ type: 'TaskAddedToProject', data: { projectId: PROJECT_ID, taskId: TASK_ID, occurredAt: NOW } }]);
  });

  it('answers TASK_ALREADY_IN_PROJECT for a task added before', () => {
    given([created, added(TASK_ID)])
      .when(command)
      .thenThrows('TASK_ALREADY_IN_PROJECT');
  });

  it('answers PROJECT_FULL once the project holds its most tasks', () => {
    const full = Array.from({ length: PROJECT_LIMITS.maxTasks }, (_, i) => added(`task-${i}`));
    given([created, ...full])
      .when(command)
      .thenThrows('PROJECT_FULL');
    given([created, ...full.slice(1)])
      .when(command)
      .then([{ type: 'TaskAddedToProject', data: { projectId: PROJECT_ID, taskId: TASK_ID, occurredAt: NOW } }]);
  });

  it("answers PROJECT_NOT_FOUND for someone else's project, and PROJECT_ARCHIVED for an archived one", () => {
    given([created])
      .when({ ...command, metadata: someoneElse })
      .thenThrows('PROJECT_NOT_FOUND');
    given([created, archived]).when(command).thenThrows('PROJECT_ARCHIVED');
  });

  it('answers VALIDATION_FAILED for a blank task id', () => {
    given([created])
      .when({ ...command, data: { projectId: PROJECT_ID, taskId: '' } })
      .thenThrows('VALIDATION_FAILED');
  });
});
