import { IDENTIFIER_PATTERN, WHITESPACE } from '@cqrs/http';
import { LISTABLE_STATUSES, type ListableStatus } from '@cqrs/tasks-read-model';
import { TASK_LIMITS, TASK_PRIORITIES } from '@cqrs/tasks-domain';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { MAX_REQUIREMENTS } from '../consistency/min-version';

// The documents describe what the service accepts, so that a client (or a fuzzer) generating
// values from them gets answers, not 400s. ECMA-262 patterns, as OpenAPI specifies.

/** `identifierProblem`'s rules: no control characters, no surrounding whitespace (lengths are in the schema). */
export const USER_ID_PATTERN = IDENTIFIER_PATTERN;
const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

/** Decimal 1 … `max` without leading zeros (no anchors): one alternative per digit that can be lower. */
export function positiveUpTo(max: number): string {
  const digits = String(max);
  const alternatives = digits.length > 1 ? [`[1-9][0-9]{0,${digits.length - 2}}`] : [];
  for (let i = 0; i < digits.length; i++) {
    const low = i === 0 ? 1 : 0;
    const digit = Number(digits[i]);
    if (digit > low) alternatives.push(`${digits.slice(0, i)}[${low}-${digit - 1}][0-9]{${digits.length - i - 1}}`);
  }
  return `(?:${[...alternatives, digits].join('|')})`;
}
/** A version: a positive safe integer, as parseMinVersion reads it. */
const VERSION = positiveUpTo(Number.MAX_SAFE_INTEGER);
// `trim()`'s whitespace, spelled out: `\s` means other sets in other regex engines.
const requirementList = (item: string) => {
  const ws = `[${WHITESPACE}]*`;
  return `^${ws}(?:${item}(?:${ws},${ws}${item}){0,${MAX_REQUIREMENTS - 1}}${ws})?$`;
};
/** `minVersion` / `X-Min-Version` on /tasks/:id, where a bare version means that task. */
export const TASK_MIN_VERSION_PATTERN = requirementList(`(?:${UUID}:)?${VERSION}`);
/** `minVersion` / `X-Min-Version` on a user's routes: every requirement names its task. */
export const MIN_VERSION_PATTERN = requirementList(`${UUID}:${VERSION}`);

const MIN_VERSION_DOC =
  'Read-your-writes: the version from a command response. The query waits (bounded) until the read model reflects it, ' +
  `else answers 503 READ_MODEL_BEHIND with Retry-After. Same syntax as the X-Min-Version header; at most ${MAX_REQUIREMENTS} ` +
  'requirements, versions up to 2^53 - 1.';

/** Query of `GET /tasks/:id`. */
export class TaskQueryDto {
  @ApiPropertyOptional({
    description: `${MIN_VERSION_DOC} A bare version refers to this task.`,
    example: '3',
    maxLength: 2_000,
    pattern: TASK_MIN_VERSION_PATTERN,
  })
  @IsOptional()
  @IsString()
  @MaxLength(2_000)
  minVersion?: string;
}

/** Query of `GET /users/:userId/tasks`. */
export class UserTasksQueryDto {
  @ApiPropertyOptional({
    enum: LISTABLE_STATUSES,
    description: 'Only tasks in this status; all but deleted ones when absent.',
  })
  @IsOptional()
  @IsIn(LISTABLE_STATUSES)
  status?: ListableStatus;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  // Decimal digits only: `1e1`, `0x10` or ` 5` are not limits.
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value,
  )
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({
    description: 'The `nextCursor` of the previous page, as it was.',
    maxLength: 1_200,
    pattern: '^[A-Za-z0-9_-]+$',
  })
  @IsOptional()
  @IsString()
  @MaxLength(1_200)
  cursor?: string;

  @ApiPropertyOptional({
    description: `${MIN_VERSION_DOC} Name the task: <taskId>:<version>[,...].`,
    example: '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11:2',
    maxLength: 2_000,
    pattern: MIN_VERSION_PATTERN,
  })
  @IsOptional()
  @IsString()
  @MaxLength(2_000)
  minVersion?: string;
}

/** Query of `GET /users/:userId/stats`. */
export class UserStatsQueryDto {
  @ApiPropertyOptional({
    description: `${MIN_VERSION_DOC} Name the task: <taskId>:<version>[,...].`,
    maxLength: 2_000,
    pattern: MIN_VERSION_PATTERN,
  })
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
  @ApiProperty({ type: String, nullable: true, description: 'ISO-8601 date or date-time with offset.' }) dueDate!:
    | string
    | null;
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
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null on the last page.',
  })
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
  @ApiProperty({ description: 'completed / total, 4 decimals; 0 without tasks.', example: 0.25 })
  completionRate!: number;
}
