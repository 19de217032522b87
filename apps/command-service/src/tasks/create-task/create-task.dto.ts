import { TASK_LIMITS, TASK_PRIORITIES, type TaskPriority } from '@cqrs/tasks-domain';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';

// DTOs check shape and types (and reject unknown fields, via the global pipe); the domain owns
// the business limits, which the OpenAPI schema mirrors from the same constants.
export class CreateTaskDto {
  @ApiProperty({ description: 'Who the task belongs to.', maxLength: TASK_LIMITS.idMaxLength, example: 'user-1' })
  @IsString()
  ownerId!: string;

  @ApiProperty({ minLength: 1, maxLength: TASK_LIMITS.titleMaxLength, example: 'Write the release notes' })
  @IsString()
  title!: string;

  @ApiPropertyOptional({ maxLength: TASK_LIMITS.descriptionMaxLength })
  @IsOptional()
  @IsString()
  description?: string;

  @ApiPropertyOptional({ description: 'ISO-8601 date or date-time with offset.', example: '2026-12-31' })
  @IsOptional()
  @IsString()
  dueDate?: string;

  @ApiPropertyOptional({ enum: TASK_PRIORITIES, default: 'NORMAL' })
  @IsOptional()
  @IsIn(TASK_PRIORITIES)
  priority?: TaskPriority;
}
