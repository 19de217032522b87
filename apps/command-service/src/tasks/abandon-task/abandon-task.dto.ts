import { LINE_TEXT_PATTERN } from '@cqrs/http';
import { TASK_LIMITS } from '@cqrs/tasks-domain';
import { ApiProperty } from '@nestjs/swagger';
import { IsString } from 'class-validator';

export class AbandonTaskDto {
  @ApiProperty({
    description: 'Trimmed; not blank, no control characters.',
    minLength: 1,
    maxLength: TASK_LIMITS.reasonMaxLength,
    pattern: LINE_TEXT_PATTERN,
    example: 'No longer needed',
  })
  @IsString()
  reason!: string;
}
