import {
  AdminOnly,
  ApiProblemResponse as problem,
  CurrentPrincipal,
  RequestValidationError,
  type Principal,
} from '@cqrs/http';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, UseInterceptors } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import {
  DEAD_LETTER_ID_PATTERN,
  DeadLetterDetailDto,
  DeadLetterListDto,
  DeadLetterQueryDto,
  DiscardResultDto,
  PROJECTION_NAME_PATTERN,
  ProjectionDto,
  ProjectionListDto,
  RebuildDto,
  ReconciliationDto,
  RedriveDto,
  RedriveResultDto,
  RelayDto,
  StartRebuildDto,
  StartReconciliationDto,
} from './admin.dto';
import { AdminAuditInterceptor } from './admin-audit';
import { AdminErrorsInterceptor } from './admin-errors';
import { AdminService } from './admin.service';

const NAME = new RegExp(PROJECTION_NAME_PATTERN);
const ID = new RegExp(DEAD_LETTER_ID_PATTERN);

/** The `:name` path parameter: a projection name (400 VALIDATION_FAILED otherwise). */
const projectionName = (name: string) => {
  if (!NAME.test(name)) throw new RequestValidationError([{ field: 'name', message: 'must be a projection name' }]);
  return name;
};

/** The `:id` path parameter: a parked record's id, a positive integer (400 VALIDATION_FAILED otherwise). */
const deadLetterId = (id: string) => {
  if (!ID.test(id)) throw new RequestValidationError([{ field: 'id', message: 'must be a positive integer' }]);
  return Number(id);
};

const nameParam = ApiParam({
  name: 'name',
  description: 'The projection (`tasks`, `projects`, `projects-task-progress`, …).',
  schema: { type: 'string', pattern: PROJECTION_NAME_PATTERN, maxLength: 100 },
});
const idParam = ApiParam({
  name: 'id',
  description: 'The parked record’s id.',
  schema: { type: 'string', pattern: DEAD_LETTER_ID_PATTERN },
});
const invalid = problem(400, 'A malformed parameter, query or body (VALIDATION_FAILED); `errors` names each field');
const unknownProjection = problem(404, 'No such projection (PROJECTION_NOT_FOUND)');
const unknownRecord = problem(404, 'No parked record with that id (DEAD_LETTER_NOT_FOUND)');

/**
 * The projector's admin API: projections (status, pause, resume, rebuilds), parked records,
 * reconciliation and the outbox relay's replication slot. Admin role only.
 */
@ApiTags('admin')
@AdminOnly()
@UseInterceptors(AdminAuditInterceptor, AdminErrorsInterceptor)
@problem(
  503,
  'The token issuer’s keys (AUTH_UNAVAILABLE), a database (DATABASE_UNAVAILABLE) or Kafka (KAFKA_UNAVAILABLE) cannot answer now; retry after Retry-After',
)
@Controller('admin/cqrs')
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Get('projections')
  @ApiOperation({ operationId: 'listProjections', summary: 'Every projection with its state, lag and parked records' })
  @ApiOkResponse({ type: ProjectionListDto })
  async projections(): Promise<ProjectionListDto> {
    return { projections: await this.admin.projections() };
  }

  @Get('projections/:name')
  @ApiOperation({ operationId: 'getProjection', summary: 'One projection' })
  @nameParam
  @ApiOkResponse({ type: ProjectionDto })
  @invalid
  @unknownProjection
  projection(@Param('name') name: string): Promise<ProjectionDto> {
    return this.admin.projection(projectionName(name));
  }

  @Post('projections/:name/pause')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'pauseProjection',
    summary: 'Pause a projection on every instance',
    description:
      'Recorded in the read database: every projector instance stops its consumer (between batches) within PROJECTOR_GENERATION_CHECK_MS, and instances started later stay paused, until it is resumed. Idempotent.',
  })
  @nameParam
  @ApiOkResponse({ type: ProjectionDto, description: 'The projection, `state: paused`.' })
  @invalid
  @unknownProjection
  pause(@Param('name') name: string, @CurrentPrincipal() caller: Principal): Promise<ProjectionDto> {
    return this.admin.setPaused(projectionName(name), true, caller.subject);
  }

  @Post('projections/:name/resume')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'resumeProjection',
    summary: 'Resume a paused projection on every instance',
    description: 'Every instance starts its consumer again at the committed offsets and catches up. Idempotent.',
  })
  @nameParam
  @ApiOkResponse({ type: ProjectionDto })
  @invalid
  @unknownProjection
  resume(@Param('name') name: string, @CurrentPrincipal() caller: Principal): Promise<ProjectionDto> {
    return this.admin.setPaused(projectionName(name), false, caller.subject);
  }

  @Post('projections/:name/rebuilds')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'startRebuild',
    summary: 'Rebuild a projection into a new generation, in the background',
    description:
      'Queries keep reading the active generation until the new one has caught up; then they switch. One rebuild at a time (409 otherwise). Generations projections only.',
  })
  @nameParam
  @ApiBody({ type: StartRebuildDto, required: false })
  @ApiAcceptedResponse({ type: RebuildDto, description: 'Started; follow it at `rebuilds/current`.' })
  @invalid
  @unknownProjection
  @problem(
    409,
    'A rebuild is already running (REBUILD_RUNNING), this projector may not rebuild (REBUILD_NOT_ENABLED: no ADMIN_REBUILD_DATABASE_URL), or the projection is a stream projection (STREAM_PROJECTION_UNSUPPORTED)',
  )
  startRebuild(@Param('name') name: string, @Body() body: StartRebuildDto): Promise<RebuildDto> {
    return this.admin.startRebuild(projectionName(name), body.source ?? 'store');
  }

  @Get('projections/:name/rebuilds/current')
  @ApiOperation({
    operationId: 'getCurrentRebuild',
    summary: 'The running (or last) rebuild, with its progress',
    description:
      'This instance’s rebuild, else the last one recorded in the read database (by the CLI or another instance).',
  })
  @nameParam
  @ApiOkResponse({ type: RebuildDto })
  @invalid
  @problem(404, 'No such projection (PROJECTION_NOT_FOUND), or it was never rebuilt (REBUILD_NOT_FOUND)')
  @problem(409, 'A stream projection has no rebuilds (STREAM_PROJECTION_UNSUPPORTED)')
  currentRebuild(@Param('name') name: string): Promise<RebuildDto> {
    return this.admin.currentRebuild(projectionName(name));
  }

  @Delete('projections/:name/rebuilds/current')
  @ApiOperation({
    operationId: 'cancelRebuild',
    summary: 'Cancel the running rebuild',
    description:
      'Stops it between steps (waiting up to 10 s). The active generation stays; a store rebuild’s generation is kept for `projector rebuild --resume`, and the next rebuild abandons it.',
  })
  @nameParam
  @ApiOkResponse({ type: RebuildDto, description: 'The rebuild, `state: cancelled` once it stopped.' })
  @invalid
  @problem(404, 'No such projection (PROJECTION_NOT_FOUND), or it was never rebuilt (REBUILD_NOT_FOUND)')
  @problem(
    409,
    'No rebuild is running (REBUILD_NOT_RUNNING), it runs in another process (REBUILD_ELSEWHERE), or a stream projection (STREAM_PROJECTION_UNSUPPORTED)',
  )
  cancelRebuild(@Param('name') name: string): Promise<RebuildDto> {
    return this.admin.cancelRebuild(projectionName(name));
  }

  @Get('dead-letters')
  @ApiOperation({
    operationId: 'listDeadLetters',
    summary: 'Parked records, oldest first (one stream’s in the order a redrive applies them)',
  })
  @ApiOkResponse({ type: DeadLetterListDto })
  @invalid
  @unknownProjection
  @problem(
    409,
    'A stream projection’s parked records are on its dead-letter topics only (STREAM_PROJECTION_UNSUPPORTED)',
  )
  async deadLetters(@Query() query: DeadLetterQueryDto): Promise<DeadLetterListDto> {
    return { deadLetters: await this.admin.deadLetters(query) };
  }

  @Get('dead-letters/:id')
  @ApiOperation({
    operationId: 'getDeadLetter',
    summary: 'One parked record, with its key, value (base64) and headers',
  })
  @idParam
  @ApiOkResponse({ type: DeadLetterDetailDto })
  @invalid
  @unknownRecord
  deadLetter(@Param('id') id: string): Promise<DeadLetterDetailDto> {
    return this.admin.deadLetter(deadLetterId(id));
  }

  @Post('dead-letters/:id/redrive')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'redriveDeadLetter',
    summary: 'Apply a parked record and the ones behind it in its stream, in order',
    description: 'Only the first parked record of its stream (409 otherwise); optionally with a corrected value.',
  })
  @idParam
  @ApiOkResponse({
    type: RedriveResultDto,
    description: 'What was applied; `stillParked` > 0 with `error` if it failed again.',
  })
  @invalid
  @unknownRecord
  @problem(409, 'It waits behind an earlier parked record of its stream (DEAD_LETTER_NOT_HEAD): redrive that one')
  @problem(422, 'It has no key, so no stream to apply it to (DEAD_LETTER_WITHOUT_STREAM): discard it')
  redrive(@Param('id') id: string, @Body() body: RedriveDto): Promise<RedriveResultDto> {
    return this.admin.redrive(
      deadLetterId(id),
      body.value === undefined ? undefined : Buffer.from(body.value, 'base64'),
    );
  }

  @Delete('dead-letters/:id')
  @ApiOperation({
    operationId: 'discardDeadLetter',
    summary: 'Discard a parked record for good',
    description:
      'Only the first parked record of its stream (409 otherwise). The records parked behind it stay parked, and the stream applies nothing, until they are redriven or discarded too.',
  })
  @idParam
  @ApiOkResponse({ type: DiscardResultDto })
  @invalid
  @unknownRecord
  @problem(409, 'It waits behind an earlier parked record of its stream (DEAD_LETTER_NOT_HEAD)')
  discard(@Param('id') id: string): Promise<DiscardResultDto> {
    return this.admin.discard(deadLetterId(id));
  }

  @Post('reconciliations')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'startReconciliation',
    summary: 'Compare the tasks read model with a replay of the event store and Kafka, in the background',
  })
  @ApiBody({ type: StartReconciliationDto, required: false })
  @ApiAcceptedResponse({ type: ReconciliationDto, description: 'Started; follow it at `reconciliations/latest`.' })
  @invalid
  @problem(409, 'One is already running on this instance (RECONCILIATION_RUNNING)')
  startReconciliation(@Body() body: StartReconciliationDto): ReconciliationDto {
    return this.admin.startReconciliation(body);
  }

  @Get('reconciliations/latest')
  @ApiOperation({
    operationId: 'getLatestReconciliation',
    summary: 'The last reconciliation this instance ran (running, or its report)',
  })
  @ApiOkResponse({ type: ReconciliationDto })
  @problem(404, 'None ran on this instance since it started (RECONCILIATION_NOT_FOUND)')
  latestReconciliation(): ReconciliationDto {
    return this.admin.latestReconciliation();
  }

  @Get('relay')
  @ApiOperation({
    operationId: 'getRelayStatus',
    summary: 'The outbox relay as PostgreSQL sees it: its slot, leader, standbys and lag',
  })
  @ApiOkResponse({ type: RelayDto })
  relay(): Promise<RelayDto> {
    return this.admin.relay();
  }
}
