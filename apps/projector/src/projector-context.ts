import type { SchemaRegistryClient } from '@cqrs/messaging';
import type { ConsumerLogger, DeadLetterPublisher } from '@cqrs/messaging/consumer';
import {
  ProjectionControls,
  StreamProjection,
  type ReadModelMigrations,
  type RunningProjection,
  type StreamProjectionDefinition,
} from '@cqrs/projection';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import type { ProjectorConfig } from './config';

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
  /**
   * Its stream projections as this configuration runs them (topics and consumer group named with
   * the PROJECTOR_STREAM_* prefixes), for `projector reset <projection>`.
   */
  streamProjections?(config: ProjectorConfig): { definition: StreamProjectionDefinition; groupId: string }[];
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
  const streamProjections = (config: ProjectorConfig) =>
    context.projections.map((definition) => ({
      definition: {
        ...definition,
        topics: definition.topics.map((topic) => config.PROJECTOR_STREAM_TOPIC_PREFIX + topic),
      },
      // under the context's group prefix, which its Kafka ACL grants
      groupId: `${config.PROJECTOR_STREAM_GROUP_PREFIX}${context.name}-projector.${definition.name}`,
    }));
  return {
    name: context.name,
    readModel: context.readModel,
    streamProjections,
    projections: (deps) =>
      streamProjections(deps.config).map(
        ({ definition, groupId }) =>
          new StreamProjection(definition, deps, {
            groupId,
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
            controls: new ProjectionControls(deps.pool),
          }),
      ),
  };
}
