import { ISO_DATE_PATTERN, lineTextPattern, multilineTextPattern } from '@cqrs/http';
import { TASK_LIMITS, TASK_PRIORITIES, type TaskPriority } from '@cqrs/tasks-domain';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';

// DTOs check shape and types (and reject unknown fields, via the global pipe); the domain owns
// the business limits and text rules, which the OpenAPI schema mirrors from the same constants
// and as patterns (@cqrs/http), so that every value the schema admits is accepted.
// The owner is not in the body: it is the authenticated caller (a body `ownerId` is refused,
// as any unknown field).
export class CreateTaskDto {
  @ApiProperty({
    description: `Trimmed; not blank, no control characters, at most ${TASK_LIMITS.titleMaxLength} characters.`,
    minLength: 1,
    pattern: lineTextPattern(TASK_LIMITS.titleMaxLength),
    example: 'Write the release notes',
  })
  @IsString()
  title!: string;

  @ApiPropertyOptional({
    description: `Multi-line, at most ${TASK_LIMITS.descriptionMaxLength} characters: no control characters but tab, line feed and carriage return; blank means none.`,
    pattern: multilineTextPattern(TASK_LIMITS.descriptionMaxLength),
  })
  @IsOptional()
  @IsString()
  description?: string;

  @ApiPropertyOptional({
    description: 'ISO-8601 date or date-time with offset.',
    pattern: ISO_DATE_PATTERN,
    example: '2026-12-31',
  })
  @IsOptional()
  @IsString()
  dueDate?: string;

  @ApiPropertyOptional({ enum: TASK_PRIORITIES, default: 'NORMAL' })
  @IsOptional()
  @IsIn(TASK_PRIORITIES)
  priority?: TaskPriority;
}
