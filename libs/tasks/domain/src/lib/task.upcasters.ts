import { upcasterChain, type UpcasterSteps } from '@cqrs/util';
import { DEFAULT_TASK_PRIORITY } from './task.events';

/**
 * How stored task events of older shapes become today's (see `upcasterChain`). The version
 * numbers are the event type's schema versions (`schemas/tasks/task/<type>.v<N>.avsc`), which the
 * command service stores with each event as `schema_version`.
 *
 * - TaskCreated 1 → 2: v2 added `priority`; tasks created before it are NORMAL, the default the
 *   Avro schema gives readers of v1 records, so the store and the topic agree.
 */
export const TASK_UPCASTER_STEPS: UpcasterSteps = {
  TaskCreated: {
    1: (data) => ({ ...data, priority: data['priority'] ?? DEFAULT_TASK_PRIORITY }),
  },
};

/** The chain the event store, rebuilds and reconciliation read task events through. */
export const taskUpcasters = upcasterChain(TASK_UPCASTER_STEPS);
