import { ApiProblemResponse as problem, CurrentPrincipal, type Principal, UuidParam } from '@cqrs/http';
import { Body, Controller, Delete, Headers, HttpCode, Patch, Post, Res, UseInterceptors } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiCreatedResponse, ApiExtraModels, ApiOkResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import {
  CommandMetricsInterceptor,
  commandMetadata,
  commandResponseDto,
  commandRouteDocs,
  CommandType,
  dispatchCommand,
  type RequestHeaders,
} from '../commands';
import { AbandonTaskDto } from './abandon-task/abandon-task.dto';
import { AbandonTaskCommand } from './abandon-task/abandon-task.handler';
import { CompleteTaskCommand } from './complete-task/complete-task.handler';
import { CreateTaskDto } from './create-task/create-task.dto';
import { CreateTaskCommand } from './create-task/create-task.handler';
import { DeleteTaskCommand } from './delete-task/delete-task.handler';
import { StartTaskCommand } from './start-task/start-task.handler';
import { UpdateTaskCommand } from './update-task/update-task.handler';
import type { TaskCommandResponse } from './task-command.executor';
import { UpdateTaskDto } from './update-task/update-task.dto';

const TaskCommandResponseDto = commandResponseDto('TaskCommandResponseDto', 'taskId');

/** The `:id` path parameter, which must be a UUID (400 VALIDATION_FAILED otherwise). */
const TaskId = () => UuidParam('id');

const docs = commandRouteDocs({
  noun: 'task',
  notFound: 'No such task, or it was deleted (TASK_NOT_FOUND)',
  conflict: "Not allowed in the task's status (INVALID_TRANSITION), or a concurrent change won (CONCURRENCY_CONFLICT)",
});

/** The write API: each route turns HTTP into one domain command on the CommandBus. */
@ApiTags('tasks')
@ApiExtraModels(UpdateTaskDto)
@Controller('tasks')
@UseInterceptors(CommandMetricsInterceptor)
export class TasksController {
  constructor(private readonly bus: CommandBus) {}

  @Post()
  @HttpCode(201)
  @CommandType('CreateTask')
  @ApiCreatedResponse({ type: TaskCommandResponseDto, description: 'Created; Location and ETag headers set.' })
  @docs.create
  @problem(409, 'A task with this id exists (TASK_ALREADY_EXISTS)')
  create(
    @CurrentPrincipal() caller: Principal,
    @Body() body: CreateTaskDto,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TaskCommandResponse> {
    const taskId = randomUUID();
    return dispatchCommand(this.bus, res, {
      message: CreateTaskCommand,
      command: {
        type: 'CreateTask',
        data: { ...body, taskId, ownerId: caller.subject },
        metadata: commandMetadata(caller),
      },
      route: 'POST /tasks',
      caller,
      headers,
      body,
      newStream: true,
      location: (response: TaskCommandResponse) => `/tasks/${response.taskId}`,
    });
  }

  @Patch(':id')
  @CommandType('UpdateTask')
  @ApiBody({
    schema: { allOf: [{ $ref: getSchemaPath(UpdateTaskDto) }], minProperties: 1 },
    description: 'At least one of title, description, dueDate.',
  })
  @ApiOkResponse({ type: TaskCommandResponseDto })
  @docs.existing
  update(
    @CurrentPrincipal() caller: Principal,
    @TaskId() id: string,
    @Body() body: UpdateTaskDto,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TaskCommandResponse> {
    return dispatchCommand(this.bus, res, {
      message: UpdateTaskCommand,
      command: { type: 'UpdateTask', data: { ...body, taskId: id }, metadata: commandMetadata(caller) },
      route: 'PATCH /tasks/:id',
      caller,
      headers,
      params: { id },
      body,
    });
  }

  @Post(':id/start')
  @HttpCode(200)
  @CommandType('StartTask')
  @ApiOkResponse({ type: TaskCommandResponseDto })
  @docs.existing
  start(
    @CurrentPrincipal() caller: Principal,
    @TaskId() id: string,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TaskCommandResponse> {
    return dispatchCommand(this.bus, res, {
      message: StartTaskCommand,
      command: { type: 'StartTask', data: { taskId: id }, metadata: commandMetadata(caller) },
      route: 'POST /tasks/:id/start',
      caller,
      headers,
      params: { id },
    });
  }

  @Post(':id/complete')
  @HttpCode(200)
  @CommandType('CompleteTask')
  @ApiOkResponse({ type: TaskCommandResponseDto })
  @docs.existing
  complete(
    @CurrentPrincipal() caller: Principal,
    @TaskId() id: string,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TaskCommandResponse> {
    return dispatchCommand(this.bus, res, {
      message: CompleteTaskCommand,
      command: { type: 'CompleteTask', data: { taskId: id }, metadata: commandMetadata(caller) },
      route: 'POST /tasks/:id/complete',
      caller,
      headers,
      params: { id },
    });
  }

  @Post(':id/abandon')
  @HttpCode(200)
  @CommandType('AbandonTask')
  @ApiBody({ type: AbandonTaskDto })
  @ApiOkResponse({ type: TaskCommandResponseDto })
  @docs.existing
  abandon(
    @CurrentPrincipal() caller: Principal,
    @TaskId() id: string,
    @Body() body: AbandonTaskDto,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TaskCommandResponse> {
    return dispatchCommand(this.bus, res, {
      message: AbandonTaskCommand,
      command: { type: 'AbandonTask', data: { taskId: id, reason: body.reason }, metadata: commandMetadata(caller) },
      route: 'POST /tasks/:id/abandon',
      caller,
      headers,
      params: { id },
      body,
    });
  }

  @Delete(':id')
  @CommandType('DeleteTask')
  @ApiOkResponse({ type: TaskCommandResponseDto })
  @docs.existing
  remove(
    @CurrentPrincipal() caller: Principal,
    @TaskId() id: string,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TaskCommandResponse> {
    return dispatchCommand(this.bus, res, {
      message: DeleteTaskCommand,
      command: { type: 'DeleteTask', data: { taskId: id }, metadata: commandMetadata(caller) },
      route: 'DELETE /tasks/:id',
      caller,
      headers,
      params: { id },
    });
  }
}
