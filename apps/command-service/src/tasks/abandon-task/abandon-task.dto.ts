import { TASK_LIMITS } from '@cqrs/tasks-domain';
import { ApiProperty } from '@nestjs/swagger';
import { IsString } from 'class-validator';

export class AbandonTaskDto {
  @ApiProperty({ minLength: 1, maxLength: TASK_LIMITS.reasonMaxLength, example: 'No longer needed' })
  @IsString()
  reason!: string;
}
