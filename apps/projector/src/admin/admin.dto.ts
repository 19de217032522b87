import { IDENTIFIER_PATTERN } from '@cqrs/http';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { DIFFERENCE_KINDS } from '../reconcile/compare';
import { IsBase64, IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

// The admin API's request and response shapes. Responses are documented field by field (required,
// nullable, enums), as a client's types are generated from the OpenAPI document.

export const PROJECTION_KINDS = ['generations', 'stream'] as const;
export const PROJECTION_STATES = ['running', 'paused', 'stopped'] as const;
export const REBUILD_SOURCES = ['store', 'kafka'] as const;
export const REBUILD_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export const REBUILD_PHASES = [
  'starting',
  'reading-store',
  'catching-up',
  'indexing',
  'activating',
  'handing-off',
  'done',
] as const;
export const RECONCILIATION_STATES = ['running', 'succeeded', 'failed'] as const;

/** A projection's name in a path: what projections are named (lower-case words, `-`, `.`, `_`). */
export const PROJECTION_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,99}$';
/** A parked record's id in a path: a positive integer of at most 15 digits. */
export const DEAD_LETTER_ID_PATTERN = '^[1-9][0-9]{0,14}$';

const dateTime = (description?: string) => ({ type: String, format: 'date-time', description });
const nullableDateTime = (description?: string) => ({ ...dateTime(description), nullable: true });
const integer = (description?: string) => ({ type: 'integer' as const, description });

// Decimal digits only: `1e1`, `0x10` or ` 5` are not numbers here.
const digits = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;

export class ProjectionPartitionDto {
  @ApiProperty() topic!: string;
  @ApiProperty(integer()) partition!: number;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Next offset the consumer group reads; null before its first commit.',
  })
  committedOffset!: string | null;
  @ApiProperty({ description: 'Offset of the next record to be written (the log end).' }) highWatermark!: string;
  @ApiProperty(integer('Records written but not yet committed by the group.')) lag!: number;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Last offset applied to the active generation (generations kind only; null otherwise).',
  })
  lastAppliedOffset!: string | null;
  @ApiProperty(nullableDateTime('When that offset was applied.')) appliedAt!: string | null;
}

export class ProjectionParkedDto {
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description:
      'Records parked in the read database (generations kind). Null for stream projections: their parked records are on the dead-letter topics.',
  })
  records!: number | null;
  @ApiProperty(integer('Streams blocked by a parked record (nothing of theirs is applied until it is dealt with).'))
  streams!: number;
}

export class ProjectionDto {
  @ApiProperty({ example: 'tasks' }) name!: string;
  @ApiProperty({
    enum: PROJECTION_KINDS,
    enumName: 'ProjectionKind',
    description:
      '`generations`: rebuilt into fresh tables, parked records kept in the read database; `stream`: per-stream checkpoints, parked records on `<topic>.dlq`.',
  })
  kind!: (typeof PROJECTION_KINDS)[number];
  @ApiProperty({
    enum: PROJECTION_STATES,
    enumName: 'ProjectionState',
    description:
      '`paused`: an operator paused it (every instance stops its consumer); `running`: this instance’s consumer runs; `stopped`: it does not (see `problem`).',
  })
  state!: (typeof PROJECTION_STATES)[number];
  @ApiProperty({ type: String, nullable: true, description: 'Why it is not running, when it is not.' })
  problem!: string | null;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'The generation queries read (generations kind); null otherwise.',
  })
  activeGeneration!: number | null;
  @ApiProperty({ type: String, nullable: true }) groupId!: string | null;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Members of the consumer group (running instances); null when unknown.',
  })
  members!: number | null;
  @ApiProperty({ type: [String] }) topics!: string[];
  @ApiProperty({ type: [String], description: 'Where its poison records are also published.' })
  deadLetterTopics!: string[];
  @ApiProperty({ type: [ProjectionPartitionDto] }) partitions!: ProjectionPartitionDto[];
  @ApiProperty(integer()) totalLag!: number;
  @ApiProperty({ type: ProjectionParkedDto }) parked!: ProjectionParkedDto;
  @ApiProperty({ type: String, nullable: true, description: 'Subject of the admin who paused or resumed it last.' })
  controlledBy!: string | null;
  @ApiProperty(nullableDateTime('When it was paused or resumed last.')) controlledAt!: string | null;
}

export class ProjectionListDto {
  @ApiProperty({ type: [ProjectionDto] }) projections!: ProjectionDto[];
}

export class StartRebuildDto {
  @ApiPropertyOptional({
    enum: REBUILD_SOURCES,
    enumName: 'RebuildSource',
    default: 'store',
    description:
      '`store`: the event store in one snapshot, then Kafka from the offsets noted before it; `kafka`: the topics from offset 0.',
  })
  @IsOptional()
  @IsIn(REBUILD_SOURCES)
  source?: (typeof REBUILD_SOURCES)[number];
}

export class RebuildReportDto {
  @ApiProperty(integer()) generation!: number;
  @ApiProperty({ type: 'integer', nullable: true }) previous!: number | null;
  @ApiProperty({ enum: REBUILD_SOURCES, enumName: 'RebuildSource' }) source!: (typeof REBUILD_SOURCES)[number];
  @ApiProperty() resumed!: boolean;
  @ApiProperty(integer('Events in the new generation when it was activated.')) events!: number;
  @ApiProperty(integer()) durationMs!: number;
  @ApiProperty(integer()) eventsPerSecond!: number;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Records applied from Kafka after the store snapshot (source store).',
  })
  kafkaRecordsAfterSnapshot!: number | null;
  @ApiProperty({ type: 'integer', isArray: true, description: 'Retired generations dropped.' }) dropped!: number[];
  @ApiProperty({ description: 'Whether a running projector took over the new consumer group.' }) handedOff!: boolean;
}

export class RebuildDto {
  @ApiProperty({ description: 'Opaque id of this rebuild.' }) id!: string;
  @ApiProperty() projection!: string;
  @ApiProperty({ type: 'integer', nullable: true, description: 'The generation it fills; null until known.' })
  generation!: number | null;
  @ApiProperty({ enum: REBUILD_SOURCES, enumName: 'RebuildSource' }) source!: (typeof REBUILD_SOURCES)[number];
  @ApiProperty({ enum: REBUILD_STATES, enumName: 'RebuildState' }) state!: (typeof REBUILD_STATES)[number];
  @ApiProperty({ enum: REBUILD_PHASES, enumName: 'RebuildPhase' }) phase!: (typeof REBUILD_PHASES)[number];
  @ApiProperty(integer()) eventsDone!: number;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Null until known.' }) eventsExpected!: number | null;
  @ApiProperty({ type: 'number' }) eventsPerSecond!: number;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Time left at the current rate; null while unknown.' })
  etaMs!: number | null;
  @ApiProperty(dateTime()) startedAt!: string;
  @ApiProperty(nullableDateTime()) finishedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The process running it (`host:pid`).' }) runner!:
    | string
    | null;
  @ApiProperty({ type: RebuildReportDto, nullable: true, description: 'When it succeeded.' })
  report!: RebuildReportDto | null;
  @ApiProperty({ type: String, nullable: true, description: 'Why it failed or stopped.' }) error!: string | null;
}

export class DeadLetterQueryDto {
  @ApiPropertyOptional({
    description: 'Only this projection’s parked records.',
    pattern: PROJECTION_NAME_PATTERN,
    maxLength: 100,
  })
  @IsOptional()
  @IsString()
  @Matches(new RegExp(PROJECTION_NAME_PATTERN), { message: 'projection must be a projection name' })
  projection?: string;

  @ApiPropertyOptional({
    description: 'Only this stream’s, in the order a redrive applies them.',
    maxLength: 200,
    pattern: IDENTIFIER_PATTERN,
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(new RegExp(IDENTIFIER_PATTERN, 'u'), {
    message: 'streamId must have no control characters and no surrounding whitespace',
  })
  streamId?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Transform(digits)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

export class DeadLetterDto {
  @ApiProperty(integer()) id!: number;
  @ApiProperty() projection!: string;
  @ApiProperty() topic!: string;
  @ApiProperty(integer()) partition!: number;
  @ApiProperty() offset!: string;
  @ApiProperty({ type: String, nullable: true, description: 'The record’s key (its stream); null without one.' })
  streamId!: string | null;
  @ApiProperty({ type: 'integer', nullable: true }) aggregateVersion!: number | null;
  @ApiProperty({ type: String, nullable: true }) eventType!: string | null;
  @ApiProperty({
    example: 'UNDECODABLE',
    description: 'Why it was parked: UNDECODABLE, REJECTED, GAP, PARKED_BEHIND, …',
  })
  reason!: string;
  @ApiProperty() errorCode!: string;
  @ApiProperty() errorMessage!: string;
  @ApiProperty(integer()) attempts!: number;
  @ApiProperty(dateTime()) firstFailedAt!: string;
  @ApiProperty(dateTime()) parkedAt!: string;
  @ApiProperty(dateTime()) lastAttemptAt!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The trace of the event’s publication, from its `traceparent` header.',
  })
  traceId!: string | null;
}

export class DeadLetterDetailDto extends DeadLetterDto {
  @ApiProperty({ type: String, nullable: true, description: 'The record’s key as UTF-8.' }) key!: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'byte', description: 'The record’s value, base64.' }) value!:
    | string
    | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) headers!: Record<string, string>;
}

export class DeadLetterListDto {
  @ApiProperty({ type: [DeadLetterDto] }) deadLetters!: DeadLetterDto[];
}

export class RedriveDto {
  @ApiPropertyOptional({
    format: 'byte',
    maxLength: 1_000_000,
    description:
      'A corrected value for the record (base64), e.g. re-encoded from the event store; applied instead of the parked one and kept, so a rebuild reads it at that position too.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(1_000_000)
  @IsBase64()
  value?: string;
}

export class RedriveErrorDto {
  @ApiProperty() reason!: string;
  @ApiProperty() code!: string;
  @ApiProperty() message!: string;
}

export class RedriveResultDto {
  @ApiProperty({ type: String, nullable: true }) streamId!: string | null;
  @ApiProperty(integer('Records of the stream applied (the record and those behind it).')) released!: number;
  @ApiProperty(integer('Records of the stream still parked.')) stillParked!: number;
  @ApiProperty({ type: RedriveErrorDto, nullable: true, description: 'Why the stream is still parked.' })
  error!: RedriveErrorDto | null;
}

export class DiscardResultDto {
  @ApiProperty(integer()) id!: number;
  @ApiProperty({ type: String, nullable: true }) streamId!: string | null;
  @ApiProperty(
    integer(
      'Records of the stream still parked (they stay parked, and the stream blocked, until redriven or discarded).',
    ),
  )
  stillParked!: number;
}

export class StartReconciliationDto {
  @ApiPropertyOptional({
    default: false,
    description: 'Rewrite the streams that differ from the store, then check them again.',
  })
  @IsOptional()
  @IsBoolean()
  repair?: boolean;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 600_000,
    default: 5_000,
    description: 'How long a stream the projector or the relay may still be on gets before it counts.',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600_000)
  settleMs?: number;
}

export class DifferenceDto {
  @ApiProperty({ enum: DIFFERENCE_KINDS, enumName: 'DifferenceKind' }) kind!: (typeof DIFFERENCE_KINDS)[number];
  @ApiProperty({ enum: ['read-model', 'kafka', 'store'] }) side!: 'read-model' | 'kafka' | 'store';
  @ApiProperty({ type: String, nullable: true }) streamId!: string | null;
  @ApiProperty({ type: String, nullable: true }) ownerId!: string | null;
  @ApiProperty() field!: string;
  @ApiProperty({ type: String, nullable: true }) found!: string | null;
  @ApiProperty({ type: String, nullable: true }) store!: string | null;
}

export class ReconcileSummaryDto {
  @ApiProperty(integer()) generation!: number;
  @ApiProperty(integer()) streamsChecked!: number;
  @ApiProperty(integer()) rowsChecked!: number;
  @ApiProperty(integer()) usersChecked!: number;
  @ApiProperty(integer()) eventsRead!: number;
  @ApiProperty(integer()) kafkaRecords!: number;
  @ApiProperty(integer()) kafkaPartitions!: number;
  @ApiProperty(integer()) durationMs!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'Remaining differences by kind.',
  })
  differencesByKind!: Record<string, number>;
}

export class RepairFailureDto {
  @ApiProperty() streamId!: string;
  @ApiProperty() error!: string;
}

export class RepairSummaryDto {
  @ApiProperty(integer()) streams!: number;
  @ApiProperty(integer()) rewritten!: number;
  @ApiProperty(integer()) removed!: number;
  @ApiProperty(integer()) skipped!: number;
  @ApiProperty(integer()) usersRecounted!: number;
  @ApiProperty(integer()) durationMs!: number;
  @ApiProperty({ type: [RepairFailureDto] }) failures!: RepairFailureDto[];
}

export class ReconcileReportDto {
  @ApiProperty({ description: 'No difference remains.' }) ok!: boolean;
  @ApiProperty({ type: ReconcileSummaryDto }) summary!: ReconcileSummaryDto;
  @ApiProperty({ type: [DifferenceDto] }) differences!: DifferenceDto[];
  @ApiProperty({ type: [DifferenceDto], nullable: true, description: 'With repair: what was found before repairing.' })
  found!: DifferenceDto[] | null;
  @ApiProperty({ type: RepairSummaryDto, nullable: true }) repair!: RepairSummaryDto | null;
  @ApiProperty({ type: [String] }) notes!: string[];
  @ApiProperty({ type: [String] }) advice!: string[];
}

export class ReconciliationDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: RECONCILIATION_STATES, enumName: 'ReconciliationState' })
  state!: (typeof RECONCILIATION_STATES)[number];
  @ApiProperty() repair!: boolean;
  @ApiProperty(dateTime()) startedAt!: string;
  @ApiProperty(nullableDateTime()) finishedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The phase it is in while running.' }) phase!:
    | string
    | null;
  @ApiProperty({ type: ReconcileReportDto, nullable: true, description: 'When it succeeded.' })
  report!: ReconcileReportDto | null;
  @ApiProperty({ type: String, nullable: true, description: 'Why it failed.' }) error!: string | null;
}

export class RelaySlotDto {
  @ApiProperty({ type: String, nullable: true }) plugin!: string | null;
  @ApiProperty({ description: 'A relay replica streams from it.' }) active!: boolean;
  @ApiProperty({ type: String, nullable: true, description: 'What the relay confirmed published (an LSN, `X/Y`).' })
  confirmedFlushLsn!: string | null;
  @ApiProperty({ type: String, nullable: true }) restartLsn!: string | null;
  @ApiProperty({ type: String, nullable: true, description: '`reserved`, `extended`, `unreserved` or `lost`.' })
  walStatus!: string | null;
  @ApiProperty({ type: 'integer', nullable: true, description: 'WAL written since the confirmed position, in bytes.' })
  lagBytes!: number | null;
  @ApiProperty({ type: 'integer', nullable: true, description: 'WAL the server keeps for the slot, in bytes.' })
  retainedBytes!: number | null;
}

export class RelayReplicaDto {
  @ApiProperty({ description: '`outbox-relay@<host>:<pid>`.' }) name!: string;
  @ApiProperty(integer('Backend pid of its connection.')) pid!: number;
}

export class RelayLeaderDto extends RelayReplicaDto {
  @ApiProperty({ type: String, nullable: true, description: 'Null when this role may not see it (pg_read_all_stats).' })
  sentLsn!: string | null;
  @ApiProperty({ type: String, nullable: true }) flushLsn!: string | null;
  @ApiProperty({ type: String, nullable: true }) state!: string | null;
}

export class RelayDto {
  @ApiProperty() slotName!: string;
  @ApiProperty({ description: 'The server’s current WAL position.' }) currentLsn!: string;
  @ApiProperty({ type: RelaySlotDto, nullable: true, description: 'Null when the slot does not exist.' })
  slot!: RelaySlotDto | null;
  @ApiProperty({ type: RelayLeaderDto, nullable: true, description: 'The replica streaming from the slot.' })
  leader!: RelayLeaderDto | null;
  @ApiProperty({ type: [RelayReplicaDto], description: 'Replicas waiting to take over.' }) standbys!: RelayReplicaDto[];
}
