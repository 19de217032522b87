import { TASK_LIMITS } from '@cqrs/tasks-domain';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, ValidateIf } from 'class-validator';

/** A partial update: an absent field stays as it is; `null` clears description or due date. */
export class UpdateTaskDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: TASK_LIMITS.titleMaxLength })
  @IsOptional()
  @IsString()
  title?: string;

  @ApiPropertyOptional({ nullable: true, maxLength: TASK_LIMITS.descriptionMaxLength })
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsString()
  description?: string | null;

  @ApiPropertyOptional({ nullable: true, description: 'ISO-8601 date or date-time with offset; null clears it.' })
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsString()
  dueDate?: string | null;
}
