import { ISO_DATE_PATTERN, lineTextPattern, multilineTextPattern } from '@cqrs/http';
import { TASK_LIMITS } from '@cqrs/tasks-domain';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, ValidateIf } from 'class-validator';

/**
 * A partial update: an absent field stays as it is; `null` clears description or due date. The
 * rules are CreateTaskDto's; at least one field is required (`minProperties` in the controller).
 */
export class UpdateTaskDto {
  @ApiPropertyOptional({
    description: `Trimmed; not blank, no control characters, at most ${TASK_LIMITS.titleMaxLength} characters.`,
    minLength: 1,
    pattern: lineTextPattern(TASK_LIMITS.titleMaxLength),
  })
  @IsOptional()
  @IsString()
  title?: string;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: `Multi-line, at most ${TASK_LIMITS.descriptionMaxLength} characters: no control characters but tab, line feed and carriage return; blank or null clears it.`,
    pattern: multilineTextPattern(TASK_LIMITS.descriptionMaxLength),
  })
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsString()
  description?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    pattern: ISO_DATE_PATTERN,
    description: 'ISO-8601 date or date-time with offset; null clears it.',
  })
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsString()
  dueDate?: string | null;
}
