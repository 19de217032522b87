import { lineTextPattern, UUID_PATTERN } from '@cqrs/http';
import { PROJECT_LIMITS } from '@cqrs/projects-domain';
import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';

// DTOs check shape and types (unknown fields are refused by the global pipe); the domain owns
// the business rules, which the OpenAPI schema mirrors from the same constants.
const name = () =>
  ApiProperty({
    description: `Trimmed; not blank, no control characters, at most ${PROJECT_LIMITS.nameMaxLength} characters.`,
    minLength: 1,
    pattern: lineTextPattern(PROJECT_LIMITS.nameMaxLength),
    example: 'Release 2.0',
  });

/** The owner is not in the body: it is the authenticated caller. */
export class CreateProjectDto {
  @name()
  @IsString()
  name!: string;
}

export class RenameProjectDto {
  @name()
  @IsString()
  name!: string;
}

export class AddTaskToProjectDto {
  @ApiProperty({ description: 'Id of a task (of the tasks context).', format: 'uuid', pattern: UUID_PATTERN })
  @IsString()
  @Matches(new RegExp(UUID_PATTERN), { message: 'taskId must be a UUID' })
  taskId!: string;
}
