import { CurrentPrincipal, ApiProblemResponse as problem, type Principal, UuidParam } from '@cqrs/http';
import { Body, Controller, Headers, HttpCode, Post, Res, UseInterceptors } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import {
  CommandMetricsInterceptor,
  commandMetadata,
  commandResponseDto,
  commandRouteDocs,
  CommandType,
  dispatchCommand,
  type RequestHeaders,
} from '../commands';
import {
  AddTaskToProjectCommand,
  ArchiveProjectCommand,
  CreateProjectCommand,
  RenameProjectCommand,
  type ProjectCommandResponse,
} from './project-commands';
import { AddTaskToProjectDto, CreateProjectDto, RenameProjectDto } from './projects.dto';

const ProjectCommandResponseDto = commandResponseDto('ProjectCommandResponseDto', 'projectId');

const docs = commandRouteDocs({
  noun: 'project',
  notFound: 'No such project (PROJECT_NOT_FOUND)',
  conflict:
    'The project is archived (PROJECT_ARCHIVED), the task is in it already (TASK_ALREADY_IN_PROJECT), it is full (PROJECT_FULL), or a concurrent change won (CONCURRENCY_CONFLICT)',
});

/** The projects write API: each route turns HTTP into one domain command on the CommandBus. */
@ApiTags('projects')
@Controller('projects')
@UseInterceptors(CommandMetricsInterceptor)
export class ProjectsController {
  constructor(private readonly bus: CommandBus) {}

  @Post()
  @HttpCode(201)
  @CommandType('CreateProject')
  @ApiCreatedResponse({ type: ProjectCommandResponseDto, description: 'Created; Location and ETag headers set.' })
  @docs.create
  @problem(409, 'A project with this id exists (PROJECT_ALREADY_EXISTS)')
  create(
    @CurrentPrincipal() caller: Principal,
    @Body() body: CreateProjectDto,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ProjectCommandResponse> {
    return dispatchCommand(this.bus, res, {
      message: CreateProjectCommand,
      command: {
        type: 'CreateProject',
        data: { projectId: randomUUID(), ownerId: caller.subject, name: body.name },
        metadata: commandMetadata(caller),
      },
      route: 'POST /projects',
      caller,
      headers,
      body,
      newStream: true,
      location: (response: ProjectCommandResponse) => `/projects/${response.projectId}`,
    });
  }

  @Post(':id/rename')
  @HttpCode(200)
  @CommandType('RenameProject')
  @ApiOkResponse({ type: ProjectCommandResponseDto })
  @docs.existing
  rename(
    @CurrentPrincipal() caller: Principal,
    @UuidParam('id') id: string,
    @Body() body: RenameProjectDto,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ProjectCommandResponse> {
    return dispatchCommand(this.bus, res, {
      message: RenameProjectCommand,
      command: { type: 'RenameProject', data: { projectId: id, name: body.name }, metadata: commandMetadata(caller) },
      route: 'POST /projects/:id/rename',
      caller,
      headers,
      params: { id },
      body,
    });
  }

  @Post(':id/archive')
  @HttpCode(200)
  @CommandType('ArchiveProject')
  @ApiOkResponse({ type: ProjectCommandResponseDto })
  @docs.existing
  archive(
    @CurrentPrincipal() caller: Principal,
    @UuidParam('id') id: string,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ProjectCommandResponse> {
    return dispatchCommand(this.bus, res, {
      message: ArchiveProjectCommand,
      command: { type: 'ArchiveProject', data: { projectId: id }, metadata: commandMetadata(caller) },
      route: 'POST /projects/:id/archive',
      caller,
      headers,
      params: { id },
    });
  }

  @Post(':id/tasks')
  @HttpCode(200)
  @CommandType('AddTaskToProject')
  @ApiOkResponse({ type: ProjectCommandResponseDto })
  @docs.existing
  addTask(
    @CurrentPrincipal() caller: Principal,
    @UuidParam('id') id: string,
    @Body() body: AddTaskToProjectDto,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ProjectCommandResponse> {
    return dispatchCommand(this.bus, res, {
      message: AddTaskToProjectCommand,
      command: {
        type: 'AddTaskToProject',
        data: { projectId: id, taskId: body.taskId },
        metadata: commandMetadata(caller),
      },
      route: 'POST /projects/:id/tasks',
      caller,
      headers,
      params: { id },
      body,
    });
  }
}
