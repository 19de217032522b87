import {
  ApiProblemResponse as problem,
  ApiUuidParam,
  CurrentPrincipal,
  type Principal,
  RequestValidationError,
  UuidParam,
} from '@cqrs/http';
import { decodeCursor } from '@cqrs/tasks-read-model';
import { TASK_LIMITS } from '@cqrs/tasks-domain';
import { DomainError, identifierProblem } from '@cqrs/util';
import { applyDecorators, Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { cacheStatus } from '../cache/query-cache';
import { parseMinVersion } from '../consistency/min-version';
import {
  MIN_VERSION_PATTERN,
  TASK_MIN_VERSION_PATTERN,
  TaskPageDto,
  TaskQueryDto,
  TaskViewDto,
  USER_ID_PATTERN,
  UserStatsQueryDto,
  UserTaskStatsDto,
  UserTasksQueryDto,
} from './tasks.dto';
import { TaskQueries, type QueryAnswer } from './task-queries';

const TaskId = () => UuidParam('id');

/** The `:userId` path parameter, under the same rules as the owner ids the command side accepts. */
const UserId = () =>
  Param('userId', {
    transform: (value: string) => {
      const problem = identifierProblem(value, TASK_LIMITS.idMaxLength);
      if (problem) throw new RequestValidationError([{ field: 'userId', message: problem }]);
      return value;
    },
  });

const userIdParam = ApiParam({
  name: 'userId',
  description: `The owner id tasks were created with: at most ${TASK_LIMITS.idMaxLength} characters (code points), no control characters, no surrounding whitespace.`,
  schema: { type: 'string', minLength: 1, maxLength: TASK_LIMITS.idMaxLength, pattern: USER_ID_PATTERN },
});
const minVersionHeader = (pattern: string) =>
  ApiHeader({
    name: 'X-Min-Version',
    required: false,
    description:
      'Read-your-writes: `<version>` (on /tasks/:id) or `<taskId>:<version>[,...]`; waits until the read model reflects it.',
    schema: { type: 'string', pattern },
  });
/** What every route may answer besides its own: 400 for any bad parameter, 503 when the read side cannot answer in time. */
const commonResponses = applyDecorators(
  ApiResponse({ status: 304, description: 'Not modified: If-None-Match matched the ETag.' }),
  problem(400, 'A path, query or header parameter is invalid (VALIDATION_FAILED, INVALID_CURSOR); `errors` names it'),
  problem(
    503,
    'The read model did not reach X-Min-Version in time (READ_MODEL_BEHIND), or the read database did not answer in time (READ_MODEL_UNAVAILABLE)',
    { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } } },
  ),
);

const notYours = problem(403, 'Another user’s tasks, without the admin role (FORBIDDEN); use /me/... for your own');

function answer<T>(res: Response, result: QueryAnswer<T>): T {
  res.setHeader('Cache-Status', cacheStatus(result.cache));
  if (result.waitedMs > 0) res.setHeader('X-Read-Your-Writes-Waited-Ms', String(result.waitedMs));
  return result.value;
}

/** The read API over the tasks read models. */
@ApiTags('tasks')
@Controller()
export class TasksController {
  constructor(private readonly queries: TaskQueries) {}

  @Get('tasks/:id')
  @ApiUuidParam('id', 'The task id (a UUID, else 400).')
  @minVersionHeader(TASK_MIN_VERSION_PATTERN)
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
    res.setHeader('ETag', `"${result.value.version}"`);
    return answer(res, result);
  }

  @Get('me/tasks')
  @minVersionHeader(MIN_VERSION_PATTERN)
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
  @minVersionHeader(MIN_VERSION_PATTERN)
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
  @minVersionHeader(MIN_VERSION_PATTERN)
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
  @minVersionHeader(MIN_VERSION_PATTERN)
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
    return answer(res, result);
  }

  private async stats(
    caller: Principal,
    ownerId: string,
    query: UserStatsQueryDto,
    header: string | undefined,
    res: Response,
  ) {
    const result = await this.queries.userStats(ownerId, caller, parseMinVersion({ header, query: query.minVersion }));
    return answer(res, result);
  }
}

/**
 * A user's lists are theirs alone, or an admin's. The same 403 whoever `userId` is (existing or
 * not), so it tells nothing about other users.
 */
function mayRead(caller: Principal, userId: string): void {
  if (caller.admin || caller.subject === userId) return;
  throw new DomainError(
    'FORBIDDEN',
    'forbidden',
    "Only the user themselves (or an admin) may read a user's tasks; use /me/tasks and /me/stats for your own",
  );
}
