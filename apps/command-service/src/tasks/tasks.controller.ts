import { hashRequest } from '@cqrs/event-store';
import { ApiProblemResponse as problem, ApiUuidParam, CurrentPrincipal, type Principal, UuidParam } from '@cqrs/http';
import type { TaskCommand } from '@cqrs/tasks-domain';
import { Body, Controller, Delete, Headers, HttpCode, Patch, Post, Res, UseInterceptors } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiProperty,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import { AbandonTaskDto } from './abandon-task/abandon-task.dto';
import { AbandonTaskCommand } from './abandon-task/abandon-task.handler';
import {
  CommandContext,
  etagOf,
  HEADER_ID_MAX_LENGTH,
  parseIdempotencyKey,
  parseIfMatch,
  parseOptionalId,
  parseTraceContext,
} from './command-context';
import { CommandMetricsInterceptor, CommandType } from './command-metrics.interceptor';
import { CompleteTaskCommand } from './complete-task/complete-task.handler';
import { CreateTaskDto } from './create-task/create-task.dto';
import { CreateTaskCommand } from './create-task/create-task.handler';
import { DeleteTaskCommand } from './delete-task/delete-task.handler';
import { StartTaskCommand } from './start-task/start-task.handler';
import { UpdateTaskCommand } from './update-task/update-task.handler';
import type { TaskCommandMessage, TaskCommandResponse, TaskCommandResult } from './task-command.executor';
import { UpdateTaskDto } from './update-task/update-task.dto';

class TaskCommandResponseDto implements TaskCommandResponse {
  @ApiProperty({ format: 'uuid' }) taskId!: string;
  @ApiProperty({
    description: 'Stream version after the command; send it as If-Match, or as X-Min-Version to the query side.',
  })
  version!: number;
}

type RequestHeaders = Record<string, string | undefined>;

/** The `:id` path parameter, which must be a UUID (400 VALIDATION_FAILED otherwise). */
const TaskId = () => UuidParam('id');
type MessageClass = new (command: never, context: CommandContext) => TaskCommandMessage;

// The rule of parseIdempotencyKey/parseOptionalId as a schema: up to 255 visible ASCII characters
// (an empty correlation or causation id counts as absent).
const headerId = { type: 'string', minLength: 1, maxLength: HEADER_ID_MAX_LENGTH, pattern: '^[!-~]+$' } as const;
const optionalHeaderId = { ...headerId, minLength: 0, pattern: '^[!-~]*$' } as const;
// parseIfMatch's rule, `(W/)?"<1-15 digits>"`. The quote is matched by a look-ahead and a
// back-reference, which mean the same as a literal `"`: schemathesis 4.32 gives up on a header
// pattern it can prove needs a non-alphanumeric character and then sends an invalid value in its
// "valid" cases (If-Match: 0); written this way, it sends the example instead.
const IF_MATCH_PATTERN = '^(?:W/)?(?=(["]))\\1[0-9]{1,15}\\1$';
const commandHeaders = [
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    schema: headerId,
    description:
      'Repeat-safe retries: the same key and body return the first response; another body is 422. 1-255 visible ASCII characters, else 400.',
  }),
  ApiHeader({
    name: 'If-Match',
    required: false,
    schema: { type: 'string', pattern: IF_MATCH_PATTERN },
    example: '"3"',
    description:
      'ETag of the version the client saw (e.g. "3"); 412 if the task changed since, 400 if it is not such a tag.',
  }),
  ApiHeader({
    name: 'X-Correlation-Id',
    required: false,
    schema: optionalHeaderId,
    description:
      'Carried with the events and echoed back; a new UUID when absent or empty. 1-255 visible ASCII characters, else 400.',
  }),
  ApiHeader({
    name: 'X-Causation-Id',
    required: false,
    schema: optionalHeaderId,
    description: 'What caused this command, stored with its events. 1-255 visible ASCII characters, else 400.',
  }),
  ApiHeader({
    name: 'traceparent',
    required: false,
    schema: { type: 'string' },
    description: 'W3C Trace Context; a malformed one is ignored (a new trace starts), never an error.',
  }),
  ApiHeader({
    name: 'tracestate',
    required: false,
    schema: { type: 'string' },
    description: 'W3C Trace Context; only well-formed members are kept, and only with a valid traceparent.',
  }),
];
const applyAll =
  (...decorators: MethodDecorator[]): MethodDecorator =>
  (target, key, descriptor) => {
    for (const decorator of decorators) decorator(target, key, descriptor);
  };
const commonResponses = applyAll(
  ...commandHeaders,
  problem(400, 'Invalid request (VALIDATION_FAILED with per-field or per-header errors, MALFORMED_JSON)'),
  problem(413, 'Body over the size limit (PAYLOAD_TOO_LARGE)'),
  problem(422, 'Idempotency-Key reused with another request (IDEMPOTENCY_KEY_REUSED)'),
  problem(503, 'Overloaded or the write database is unreachable (EVENT_STORE_UNAVAILABLE); retry after Retry-After', {
    'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
  }),
);
const existingTaskResponses = applyAll(
  ApiUuidParam('id', 'The task id (a UUID, else 400).'),
  problem(404, 'No such task, or it was deleted (TASK_NOT_FOUND)'),
  problem(
    409,
    "Not allowed in the task's status (INVALID_TRANSITION), or a concurrent change won (CONCURRENCY_CONFLICT)",
  ),
  problem(412, 'If-Match is stale (VERSION_MISMATCH)'),
);

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
  @commonResponses
  @problem(409, 'A task with this id exists (TASK_ALREADY_EXISTS)')
  // RFC 9110 §13.1.1: If-Match is false when there is no current representation, and a task being
  // created has none, so an If-Match naming a version fails the precondition like a stale one.
  @problem(412, 'If-Match sent on a create: the new task has no version to match (VERSION_MISMATCH)')
  async create(
    @CurrentPrincipal() caller: Principal,
    @Body() body: CreateTaskDto,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ) {
    const taskId = randomUUID();
    const command: TaskCommand = {
      type: 'CreateTask',
      data: { ...body, taskId, ownerId: caller.subject },
      metadata: this.now(caller),
    };
    const result = await this.dispatch(caller, CreateTaskCommand, command, 'POST /tasks', {}, body, headers, res, true);
    res.setHeader('Location', `/tasks/${result.taskId}`);
    return result;
  }

  @Patch(':id')
  @CommandType('UpdateTask')
  @ApiBody({
    schema: { allOf: [{ $ref: getSchemaPath(UpdateTaskDto) }], minProperties: 1 },
    description: 'At least one of title, description, dueDate.',
  })
  @ApiOkResponse({ type: TaskCommandResponseDto })
  @commonResponses
  @existingTaskResponses
  update(
    @CurrentPrincipal() caller: Principal,
    @TaskId() id: string,
    @Body() body: UpdateTaskDto,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.dispatch(
      caller,
      UpdateTaskCommand,
      { type: 'UpdateTask', data: { ...body, taskId: id }, metadata: this.now(caller) },
      'PATCH /tasks/:id',
      { id },
      body,
      headers,
      res,
    );
  }

  @Post(':id/start')
  @HttpCode(200)
  @CommandType('StartTask')
  @ApiOkResponse({ type: TaskCommandResponseDto })
  @commonResponses
  @existingTaskResponses
  start(
    @CurrentPrincipal() caller: Principal,
    @TaskId() id: string,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.dispatch(
      caller,
      StartTaskCommand,
      { type: 'StartTask', data: { taskId: id }, metadata: this.now(caller) },
      'POST /tasks/:id/start',
      { id },
      {},
      headers,
      res,
    );
  }

  @Post(':id/complete')
  @HttpCode(200)
  @CommandType('CompleteTask')
  @ApiOkResponse({ type: TaskCommandResponseDto })
  @commonResponses
  @existingTaskResponses
  complete(
    @CurrentPrincipal() caller: Principal,
    @TaskId() id: string,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.dispatch(
      caller,
      CompleteTaskCommand,
      { type: 'CompleteTask', data: { taskId: id }, metadata: this.now(caller) },
      'POST /tasks/:id/complete',
      { id },
      {},
      headers,
      res,
    );
  }

  @Post(':id/abandon')
  @HttpCode(200)
  @CommandType('AbandonTask')
  @ApiBody({ type: AbandonTaskDto })
  @ApiOkResponse({ type: TaskCommandResponseDto })
  @commonResponses
  @existingTaskResponses
  abandon(
    @CurrentPrincipal() caller: Principal,
    @TaskId() id: string,
    @Body() body: AbandonTaskDto,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.dispatch(
      caller,
      AbandonTaskCommand,
      { type: 'AbandonTask', data: { taskId: id, reason: body.reason }, metadata: this.now(caller) },
      'POST /tasks/:id/abandon',
      { id },
      body,
      headers,
      res,
    );
  }

  @Delete(':id')
  @CommandType('DeleteTask')
  @ApiOkResponse({ type: TaskCommandResponseDto })
  @commonResponses
  @existingTaskResponses
  remove(
    @CurrentPrincipal() caller: Principal,
    @TaskId() id: string,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.dispatch(
      caller,
      DeleteTaskCommand,
      { type: 'DeleteTask', data: { taskId: id }, metadata: this.now(caller) },
      'DELETE /tasks/:id',
      { id },
      {},
      headers,
      res,
    );
  }

  // Time and the caller enter the domain here, at the edge: deciding stays a pure function.
  private now(caller: Principal) {
    return { now: new Date().toISOString(), actor: caller.subject };
  }

  private async dispatch(
    caller: Principal,
    Message: MessageClass,
    command: TaskCommand,
    route: string,
    params: Record<string, string>,
    body: object,
    headers: RequestHeaders,
    res: Response,
    newStream = false,
  ): Promise<TaskCommandResponse> {
    const correlationId = parseOptionalId('X-Correlation-Id', headers['x-correlation-id']) ?? randomUUID();
    const context: CommandContext = {
      route,
      subject: caller.subject,
      idempotencyKey: parseIdempotencyKey(headers['idempotency-key']),
      // the HTTP request, not the command: a retried create must match although its id is new
      requestHash: hashRequest({ route, params, body }),
      expectedVersion: parseIfMatch(headers['if-match']),
      newStream,
      correlationId,
      causationId: parseOptionalId('X-Causation-Id', headers['x-causation-id']),
      ...parseTraceContext(headers['traceparent'], headers['tracestate']),
    };
    const { response, replayed } = await this.bus.execute<TaskCommandMessage, TaskCommandResult>(
      new Message(command as never, context),
    );
    res.setHeader('ETag', etagOf(response.version));
    res.setHeader('X-Correlation-Id', correlationId);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return response;
  }
}
