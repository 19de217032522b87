import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { MIN_VERSION_DOC, MinVersionQuery, STREAM_MIN_VERSION_PATTERN } from '../queries';

/** How read-your-writes requirements name a project. */
export const PROJECT_STREAM_NAMING = { noun: 'project', idField: 'projectId', itemRoute: '/projects/:id' };

/** Query of `GET /projects/:id`. */
export class ProjectQueryDto {
  @MinVersionQuery({
    description: `${MIN_VERSION_DOC} A bare version refers to this project.`,
    example: '3',
    pattern: STREAM_MIN_VERSION_PATTERN,
  })
  minVersion?: string;
}

/** Query of `GET /me/projects`. */
export class MyProjectsQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 50 })
  @IsOptional()
  // Decimal digits only: `1e1`, `0x10` or ` 5` are not limits.
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value,
  )
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

class ProjectProgressDto {
  @ApiProperty() open!: number;
  @ApiProperty() started!: number;
  @ApiProperty() completed!: number;
  @ApiProperty() abandoned!: number;
  @ApiProperty() deleted!: number;
  @ApiProperty({ description: 'Tasks added whose events the read model has not seen (yet).' }) unknown!: number;
  @ApiProperty() total!: number;
}

export class ProjectViewDto {
  @ApiProperty({ format: 'uuid' }) projectId!: string;
  @ApiProperty() ownerId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['active', 'archived'] }) status!: string;
  @ApiProperty({ description: 'Stream version; also the ETag.' }) version!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({
    type: ProjectProgressDto,
    description: 'The project’s tasks by status, as the tasks context’s events reported them.',
  })
  progress!: ProjectProgressDto;
}

export class ProjectListDto {
  @ApiProperty({ type: [ProjectViewDto] }) items!: ProjectViewDto[];
}
