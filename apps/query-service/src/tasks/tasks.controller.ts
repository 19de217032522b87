import { RequestValidationError } from '@cqrs/http';
import { TASK_LIMITS } from '@cqrs/tasks-domain';
import { Controller, Get, Headers, Param, ParseUUIDPipe, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { cacheStatus } from '../cache/query-cache';
import { parseMinVersion } from '../consistency/min-version';
import { TaskPageDto, TaskQueryDto, TaskViewDto, UserStatsQueryDto, UserTaskStatsDto, UserTasksQueryDto } from './tasks.dto';
import { TaskQueries, type QueryAnswer } from './task-queries';

const TaskId = () =>
  Param('id', new ParseUUIDPipe({ exceptionFactory: () => new RequestValidationError([{ field: 'id', message: 'must be a UUID' }]) }));

function userId(value: string): string {
  if (value.length > TASK_LIMITS.idMaxLength) {
    throw new RequestValidationError([{ field: 'userId', message: `must be at most ${TASK_LIMITS.idMaxLength} characters` }]);
  }
  return value;
}

const minVersionHeader = ApiHeader({
  name: 'X-Min-Version',
  required: false,
  description: 'Read-your-writes: `<version>` (on /tasks/:id) or `<taskId>:<version>[,...]`; waits until the read model reflects it.',
});
const problem = (status: number, description: string) =>
  ApiResponse({ status, description, content: { 'application/problem+json': { schema: { type: 'object' } } } });
const behind = problem(503, 'The read model did not reach X-Min-Version in time (READ_MODEL_BEHIND); Retry-After set');

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
  @minVersionHeader
  @ApiOkResponse({ type: TaskViewDto, description: 'The task; ETag is its version.' })
  @problem(400, 'Invalid id or minVersion (VALIDATION_FAILED)')
  @problem(404, 'No such task, or it was deleted (TASK_NOT_FOUND)')
  @behind
  async task(@TaskId() id: string, @Query() query: TaskQueryDto, @Headers('x-min-version') header: string | undefined, @Res({ passthrough: true }) res: Response) {
    const result = await this.queries.task(id, parseMinVersion({ header, query: query.minVersion }, id));
    res.setHeader('ETag', `"${result.value.version}"`);
    return answer(res, result);
  }

  @Get('users/:userId/tasks')
  @minVersionHeader
  @ApiOkResponse({ type: TaskPageDto, description: 'A page of the user’s tasks, newest first.' })
  @problem(400, 'Invalid status, limit, cursor (INVALID_CURSOR) or minVersion')
  @behind
  async userTasks(
    @Param('userId') user: string,
    @Query() query: UserTasksQueryDto,
    @Headers('x-min-version') header: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const requirements = parseMinVersion({ header, query: query.minVersion });
    const result = await this.queries.userTasks(userId(user), { status: query.status, limit: query.limit ?? 20, cursor: query.cursor }, requirements);
    return answer(res, result);
  }

  @Get('users/:userId/stats')
  @minVersionHeader
  @ApiOkResponse({ type: UserTaskStatsDto, description: 'Counts per status and completion rate.' })
  @problem(400, 'Invalid minVersion')
  @behind
  async userStats(
    @Param('userId') user: string,
    @Query() query: UserStatsQueryDto,
    @Headers('x-min-version') header: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const result = await this.queries.userStats(userId(user), parseMinVersion({ header, query: query.minVersion }));
    return answer(res, result);
  }
}
