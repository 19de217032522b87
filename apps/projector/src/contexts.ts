import type { SchemaRegistryClient } from '@cqrs/messaging';
import type { ConsumerLogger, DeadLetterPublisher } from '@cqrs/messaging/consumer';
import {
  StreamProjection,
  type ReadModelMigrations,
  type RunningProjection,
  type StreamProjectionDefinition,
} from '@cqrs/projection';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import type { ProjectorConfig } from './config';
import { tasksContext } from './tasks/tasks.context';

/** What every projection in this process shares: the read pool, Kafka, the registry, the DLQ. */
export interface ProjectorDeps {
  config: ProjectorConfig;
  pool: Pool;
  kafka: Kafka;
  registry: SchemaRegistryClient;
  dlq: DeadLetterPublisher;
  logger: ConsumerLogger;
}

/** A bounded context in the projector: its read-model migrations and the projections that fill them. */
export interface ProjectorContext {
  name: string;
  /** Applied by `npm run db:migrate:read` (and `projector migrate`), contexts in registration order. */
  readModel: ReadModelMigrations;
  projections(deps: ProjectorDeps): RunningProjection[];
}

/**
 * A context whose projections are stream projections (per-stream checkpoints, no generations),
 * run with the projector's consumer settings; what the generators register for a new context.
 */
export function streamProjectionContext(context: {
  name: string;
  readModel: ReadModelMigrations;
  projections: readonly StreamProjectionDefinition[];
}): ProjectorContext {
  return {
    name: context.name,
    readModel: context.readModel,
    projections: (deps) =>
      context.projections.map(
        (definition) =>
          new StreamProjection(definition, deps, {
            createTopicsWithPartitions: deps.config.PROJECTOR_TOPIC_AUTOCREATE
              ? deps.config.PROJECTOR_TOPIC_PARTITIONS
              : undefined,
            eventTopicRetentionMs: deps.config.EVENT_TOPIC_RETENTION_MS,
            concurrency: deps.config.PROJECTOR_CONCURRENCY,
            maxBatchBytes: deps.config.PROJECTOR_MAX_BATCH_BYTES,
            gapRetries: deps.config.PROJECTOR_GAP_RETRIES,
            retry: {
              minTimeoutMs: deps.config.PROJECTOR_RETRY_MIN_MS,
              maxTimeoutMs: deps.config.PROJECTOR_RETRY_MAX_MS,
            },
            sessionTimeoutMs: deps.config.PROJECTOR_SESSION_TIMEOUT_MS,
            restartEveryMs: deps.config.PROJECTOR_GENERATION_CHECK_MS,
          }),
      ),
  };
}

/**
 * The registration point: the bounded contexts whose read models this projector builds. Each
 * brings its read-model migrations and its projections; the generators add entries.
 */
export const PROJECTOR_CONTEXTS: readonly ProjectorContext[] = [tasksContext];
