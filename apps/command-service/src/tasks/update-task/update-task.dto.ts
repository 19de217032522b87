import { ISO_DATE_PATTERN, LINE_TEXT_PATTERN, MULTILINE_TEXT_PATTERN } from '@cqrs/http';
import { TASK_LIMITS } from '@cqrs/tasks-domain';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, ValidateIf } from 'class-validator';

/**
 * A partial update: an absent field stays as it is; `null` clears description or due date. The
 * rules are CreateTaskDto's; at least one field is required (`minProperties` in the controller).
 */
export class UpdateTaskDto {
  @ApiPropertyOptional({ description: 'Trimmed; not blank, no control characters.', minLength: 1, maxLength: TASK_LIMITS.titleMaxLength, pattern: LINE_TEXT_PATTERN })
  @IsOptional()
  @IsString()
  title?: string;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'Multi-line: no control characters but tab, line feed and carriage return; blank or null clears it.',
    maxLength: TASK_LIMITS.descriptionMaxLength,
    pattern: MULTILINE_TEXT_PATTERN,
  })
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsString()
  description?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, pattern: ISO_DATE_PATTERN, description: 'ISO-8601 date or date-time with offset; null clears it.' })
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsString()
  dueDate?: string | null;
}
