import { IDENTIFIER_PATTERN } from '@cqrs/http';
import { LISTABLE_STATUSES, type ListableStatus } from '@cqrs/tasks-read-model';
import { TASK_LIMITS, TASK_PRIORITIES } from '@cqrs/tasks-domain';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { MIN_VERSION_DOC, MIN_VERSION_PATTERN, MinVersionQuery, STREAM_MIN_VERSION_PATTERN } from '../queries';

/** `identifierProblem`'s rules: no control characters, no surrounding whitespace (lengths are in the schema). */
export const USER_ID_PATTERN = IDENTIFIER_PATTERN;
/** `minVersion` / `X-Min-Version` on /tasks/:id, where a bare version means that task. */
export const TASK_MIN_VERSION_PATTERN = STREAM_MIN_VERSION_PATTERN;

/** Query of `GET /tasks/:id`. */
export class TaskQueryDto {
  @MinVersionQuery({
    description: `${MIN_VERSION_DOC} A bare version refers to this task.`,
    example: '3',
    pattern: TASK_MIN_VERSION_PATTERN,
  })
  minVersion?: string;
}

/** Query of `GET /users/:userId/tasks`. */
export class UserTasksQueryDto {
  @ApiPropertyOptional({
    enum: LISTABLE_STATUSES,
    description: 'Only tasks in this status; all but deleted ones when absent.',
  })
  @IsOptional()
  @IsIn(LISTABLE_STATUSES)
  status?: ListableStatus;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  // Decimal digits only: `1e1`, `0x10` or ` 5` are not limits.
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value,
  )
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({
    description: 'The `nextCursor` of the previous page, as it was.',
    maxLength: 1_200,
    pattern: '^[A-Za-z0-9_-]+$',
  })
  @IsOptional()
  @IsString()
  @MaxLength(1_200)
  cursor?: string;

  @MinVersionQuery({
    description: `${MIN_VERSION_DOC} Name the task: <taskId>:<version>[,...].`,
    example: '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11:2',
    pattern: MIN_VERSION_PATTERN,
  })
  minVersion?: string;
}

/** Query of `GET /users/:userId/stats`. */
export class UserStatsQueryDto {
  @MinVersionQuery({
    description: `${MIN_VERSION_DOC} Name the task: <taskId>:<version>[,...].`,
    pattern: MIN_VERSION_PATTERN,
  })
  minVersion?: string;
}

export class TaskViewDto {
  @ApiProperty({ format: 'uuid' }) taskId!: string;
  @ApiProperty({ maxLength: TASK_LIMITS.idMaxLength }) ownerId!: string;
  @ApiProperty() title!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'ISO-8601 date or date-time with offset.' }) dueDate!:
    | string
    | null;
  @ApiProperty({ enum: TASK_PRIORITIES }) priority!: string;
  @ApiProperty({ enum: ['open', 'started', 'completed', 'abandoned'] }) status!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) completedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) abandonedAt!: string | null;
  @ApiProperty({ type: String, nullable: true }) abandonReason!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) deletedAt!: string | null;
  @ApiProperty({ description: 'Version of the task’s stream this view reflects.' }) version!: number;
}

export class TaskPageDto {
  @ApiProperty({ type: [TaskViewDto] }) items!: TaskViewDto[];
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null on the last page.',
  })
  nextCursor!: string | null;
}

class StatusCountsDto {
  @ApiProperty() open!: number;
  @ApiProperty() started!: number;
  @ApiProperty() completed!: number;
  @ApiProperty() abandoned!: number;
}

export class UserTaskStatsDto {
  @ApiProperty() ownerId!: string;
  @ApiProperty({ description: 'Tasks that exist (every status but deleted).' }) total!: number;
  @ApiProperty({ type: StatusCountsDto }) byStatus!: StatusCountsDto;
  @ApiProperty({ description: 'Tasks deleted (counted in no status).' }) deleted!: number;
  @ApiProperty({ description: 'completed / total, 4 decimals; 0 without tasks.', example: 0.25 })
  completionRate!: number;
}
