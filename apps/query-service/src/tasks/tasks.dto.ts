import { LISTABLE_STATUSES, type ListableStatus } from '@cqrs/tasks-read-model';
import { TASK_LIMITS, TASK_PRIORITIES } from '@cqrs/tasks-domain';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

const MIN_VERSION_DOC =
  'Read-your-writes: the version from a command response. The query waits (bounded) until the read model reflects it, ' +
  'else answers 503 READ_MODEL_BEHIND with Retry-After. Same syntax as the X-Min-Version header.';

/** Query of `GET /tasks/:id`. */
export class TaskQueryDto {
  @ApiPropertyOptional({ description: `${MIN_VERSION_DOC} A bare version refers to this task.`, example: '3' })
  @IsOptional()
  @IsString()
  @MaxLength(2_000)
  minVersion?: string;
}

/** Query of `GET /users/:userId/tasks`. */
export class UserTasksQueryDto {
  @ApiPropertyOptional({ enum: LISTABLE_STATUSES, description: 'Only tasks in this status; all but deleted ones when absent.' })
  @IsOptional()
  @IsIn(LISTABLE_STATUSES)
  status?: ListableStatus;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'The `nextCursor` of the previous page.' })
  @IsOptional()
  @IsString()
  @MaxLength(1_000)
  cursor?: string;

  @ApiPropertyOptional({ description: `${MIN_VERSION_DOC} Name the task: <taskId>:<version>[,...].`, example: '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11:2' })
  @IsOptional()
  @IsString()
  @MaxLength(2_000)
  minVersion?: string;
}

/** Query of `GET /users/:userId/stats`. */
export class UserStatsQueryDto {
  @ApiPropertyOptional({ description: `${MIN_VERSION_DOC} Name the task: <taskId>:<version>[,...].` })
  @IsOptional()
  @IsString()
  @MaxLength(2_000)
  minVersion?: string;
}

export class TaskViewDto {
  @ApiProperty({ format: 'uuid' }) taskId!: string;
  @ApiProperty({ maxLength: TASK_LIMITS.idMaxLength }) ownerId!: string;
  @ApiProperty() title!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'ISO-8601 date or date-time with offset.' }) dueDate!: string | null;
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
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last page.' })
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
  @ApiProperty({ description: 'completed / total, 4 decimals; 0 without tasks.', example: 0.25 }) completionRate!: number;
}
