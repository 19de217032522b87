import { ApiProblemResponse as problem, ApiUuidParam, CurrentPrincipal, type Principal, UuidParam } from '@cqrs/http';
import { decodeCursor } from '@cqrs/tasks-read-model';
import { TASK_LIMITS } from '@cqrs/tasks-domain';
import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import {
  ApiMinVersionHeader,
  ApiOwnerIdParam,
  ApiQueryResponses,
  MIN_VERSION_PATTERN,
  OwnerIdParam,
  parseMinVersion,
  requireOwnerOrAdmin,
  sendQueryAnswer,
  sendVersionedAnswer,
} from '../queries';
import {
  TASK_MIN_VERSION_PATTERN,
  TaskPageDto,
  TaskQueryDto,
  TaskViewDto,
  UserStatsQueryDto,
  UserTaskStatsDto,
  UserTasksQueryDto,
} from './tasks.dto';
import { TaskQueries } from './task-queries';

const TaskId = () => UuidParam('id');

/** The `:userId` path parameter, under the same rules as the owner ids the command side accepts. */
const UserId = () => OwnerIdParam('userId', TASK_LIMITS.idMaxLength);

const userIdParam = ApiOwnerIdParam(
  'userId',
  TASK_LIMITS.idMaxLength,
  `The owner id tasks were created with: at most ${TASK_LIMITS.idMaxLength} characters (code points), no control characters, no surrounding whitespace.`,
);
const commonResponses = ApiQueryResponses();

const notYours = problem(403, 'Another user’s tasks, without the admin role (FORBIDDEN); use /me/... for your own');

/** A user's lists are theirs alone, or an admin's (403 otherwise). */
const mayRead = (caller: Principal, userId: string) =>
  requireOwnerOrAdmin(
    caller,
    userId,
    "Only the user themselves (or an admin) may read a user's tasks; use /me/tasks and /me/stats for your own",
  );

/** The read API over the tasks read models. */
@ApiTags('tasks')
@Controller()
export class TasksController {
  constructor(private readonly queries: TaskQueries) {}

  @Get('tasks/:id')
  @ApiUuidParam('id', 'The task id (a UUID, else 400).')
  @ApiMinVersionHeader(TASK_MIN_VERSION_PATTERN)
  @ApiOkResponse({ type: TaskViewDto, description: 'The task; ETag is its version.' })
  @problem(404, "No such task, it was deleted, or it is someone else's (TASK_NOT_FOUND)")
  @commonResponses
  async task(
    @CurrentPrincipal() caller: Principal,
    @TaskId() id: string,
    @Query() query: TaskQueryDto,
    @Headers('x-min-version') header: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const result = await this.queries.task(id, caller, parseMinVersion({ header, query: query.minVersion }, id));
    return sendVersionedAnswer(res, result);
  }

  @Get('me/tasks')
  @ApiMinVersionHeader(MIN_VERSION_PATTERN)
  @ApiOkResponse({ type: TaskPageDto, description: 'A page of the caller’s own tasks, newest first.' })
  @commonResponses
  myTasks(
    @CurrentPrincipal() caller: Principal,
    @Query() query: UserTasksQueryDto,
    @Headers('x-min-version') header: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.listTasks(caller, caller.subject, query, header, res);
  }

  @Get('users/:userId/tasks')
  @userIdParam
  @ApiMinVersionHeader(MIN_VERSION_PATTERN)
  @ApiOkResponse({ type: TaskPageDto, description: 'A page of the user’s tasks, newest first.' })
  @notYours
  @commonResponses
  userTasks(
    @CurrentPrincipal() caller: Principal,
    @UserId() userId: string,
    @Query() query: UserTasksQueryDto,
    @Headers('x-min-version') header: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    mayRead(caller, userId);
    return this.listTasks(caller, userId, query, header, res);
  }

  @Get('me/stats')
  @ApiMinVersionHeader(MIN_VERSION_PATTERN)
  @ApiOkResponse({
    type: UserTaskStatsDto,
    description: 'Counts of the caller’s tasks per status, and completion rate.',
  })
  @commonResponses
  myStats(
    @CurrentPrincipal() caller: Principal,
    @Query() query: UserStatsQueryDto,
    @Headers('x-min-version') header: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.stats(caller, caller.subject, query, header, res);
  }

  @Get('users/:userId/stats')
  @userIdParam
  @ApiMinVersionHeader(MIN_VERSION_PATTERN)
  @ApiOkResponse({ type: UserTaskStatsDto, description: 'Counts per status and completion rate.' })
  @notYours
  @commonResponses
  userStats(
    @CurrentPrincipal() caller: Principal,
    @UserId() userId: string,
    @Query() query: UserStatsQueryDto,
    @Headers('x-min-version') header: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    mayRead(caller, userId);
    return this.stats(caller, userId, query, header, res);
  }

  private async listTasks(
    caller: Principal,
    ownerId: string,
    query: UserTasksQueryDto,
    header: string | undefined,
    res: Response,
  ) {
    const requirements = parseMinVersion({ header, query: query.minVersion });
    // Checked here, before the cache and the database see it.
    if (query.cursor !== undefined) decodeCursor(query.cursor);
    const result = await this.queries.userTasks(
      ownerId,
      { status: query.status, limit: query.limit ?? 20, cursor: query.cursor },
      caller,
      requirements,
    );
    return sendQueryAnswer(res, result);
  }

  private async stats(
    caller: Principal,
    ownerId: string,
    query: UserStatsQueryDto,
    header: string | undefined,
    res: Response,
  ) {
    const result = await this.queries.userStats(ownerId, caller, parseMinVersion({ header, query: query.minVersion }));
    return sendQueryAnswer(res, result);
  }
}
