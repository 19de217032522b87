import { AvroSerde } from '@cqrs/messaging';
import { ProjectionControls } from '@cqrs/projection';
import { tasksTaskEventsContracts } from '@cqrs/tasks-contracts';
import { TASKS_READ_MODEL } from '@cqrs/tasks-read-model';
import { projectionSettings } from '../config';
import type { ProjectorContext } from '../projector-context';
import { ProjectionRunner } from '../projection/projection-runner';
import { TaskRecordDecoder } from '../projection/task-record.decoder';

/**
 * The tasks context in the projector: its read model has generations (rebuilds, reconciliation,
 * redrive), so it runs its own projection runner rather than a stream projection.
 */
export const tasksContext: ProjectorContext = {
  name: 'tasks',
  readModel: TASKS_READ_MODEL,
  projections: ({ config, pool, kafka, registry, dlq, logger }) => [
    new ProjectionRunner(
      {
        pool,
        kafka,
        dlq,
        logger,
        decoder: new TaskRecordDecoder(new AvroSerde({ registry, contracts: tasksTaskEventsContracts })),
      },
      projectionSettings(config),
      config.PROJECTOR_GENERATION_CHECK_MS,
      new ProjectionControls(pool),
    ),
  ],
};
