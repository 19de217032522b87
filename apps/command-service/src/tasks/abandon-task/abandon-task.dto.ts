import { lineTextPattern } from '@cqrs/http';
import { TASK_LIMITS } from '@cqrs/tasks-domain';
import { ApiProperty } from '@nestjs/swagger';
import { IsString } from 'class-validator';

export class AbandonTaskDto {
  @ApiProperty({
    description: `Trimmed; not blank, no control characters, at most ${TASK_LIMITS.reasonMaxLength} characters.`,
    minLength: 1,
    pattern: lineTextPattern(TASK_LIMITS.reasonMaxLength),
    example: 'No longer needed',
  })
  @IsString()
  reason!: string;
}
