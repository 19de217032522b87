import { ApiProblemResponse as problem, ApiUuidParam, CurrentPrincipal, type Principal, UuidParam } from '@cqrs/http';
import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import {
  ApiMinVersionHeader,
  ApiQueryResponses,
  MIN_VERSION_PATTERN,
  parseMinVersion,
  sendQueryAnswer,
  sendVersionedAnswer,
  STREAM_MIN_VERSION_PATTERN,
} from '../queries';
import {
  MyProjectsQueryDto,
  PROJECT_STREAM_NAMING,
  ProjectListDto,
  ProjectQueryDto,
  ProjectViewDto,
} from './projects.dto';
import { ProjectQueries } from './project-queries';

const commonResponses = ApiQueryResponses();

/** The read API over the projects read model. */
@ApiTags('projects')
@Controller()
export class ProjectsController {
  constructor(private readonly queries: ProjectQueries) {}

  @Get('projects/:id')
  @ApiUuidParam('id', 'The project id (a UUID, else 400).')
  @ApiMinVersionHeader(STREAM_MIN_VERSION_PATTERN, PROJECT_STREAM_NAMING)
  @ApiOkResponse({ type: ProjectViewDto, description: 'The project and its tasks’ progress; ETag is its version.' })
  @problem(404, "No such project, or it is someone else's (PROJECT_NOT_FOUND)")
  @commonResponses
  async project(
    @CurrentPrincipal() caller: Principal,
    @UuidParam('id') id: string,
    @Query() query: ProjectQueryDto,
    @Headers('x-min-version') header: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const requirements = parseMinVersion({ header, query: query.minVersion }, id, PROJECT_STREAM_NAMING);
    return sendVersionedAnswer(res, await this.queries.project(id, caller, requirements));
  }

  @Get('me/projects')
  @ApiMinVersionHeader(MIN_VERSION_PATTERN, PROJECT_STREAM_NAMING)
  @ApiOkResponse({ type: ProjectListDto, description: 'The caller’s projects, most recently changed first.' })
  @commonResponses
  async myProjects(
    @CurrentPrincipal() caller: Principal,
    @Query() query: MyProjectsQueryDto,
    @Headers('x-min-version') header: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const requirements = parseMinVersion({ header }, undefined, PROJECT_STREAM_NAMING);
    return sendQueryAnswer(res, await this.queries.myProjects(caller, query.limit ?? 50, requirements));
  }
}
