import type { PartitionLag } from '@cqrs/messaging/consumer';

/** What readiness, `/metrics` and operators see of a projection. */
export interface ProjectionStatus {
  /** The read-model generation it writes; null for a projection without generations. */
  generation: number | null;
  groupId: string | null;
  running: boolean;
  /** An operator paused it (see `ProjectionControls`): its consumer is stopped on purpose. */
  paused?: boolean;
  problem?: string;
}

/** A projection running in the projector process: started with it, stopped (between batches) on shutdown. */
export interface RunningProjection {
  readonly name: string;
  /** Starts in the background, retrying: the process comes up even while Kafka or the DB is down. */
  start(): void;
  stop(): Promise<void>;
  status(): ProjectionStatus;
  /** Per-partition lag of its consumer group. */
  lag(): Promise<PartitionLag[]>;
}
