import type { ContextModule } from '@cqrs/http';
import { TASK_UPCASTER_STEPS } from '@cqrs/tasks-domain';
import type { CommandServiceConfig } from '../config';
import type { CommandSideContext } from '../contexts';
import { TaskEventEncoder } from './task-event.encoder';
import { TasksModule } from './tasks.module';

/** The tasks context in the command service. */
export const tasksContext: CommandSideContext = {
  name: 'tasks',
  module: (config: CommandServiceConfig) => TasksModule.forRoot(config),
  upcasters: TASK_UPCASTER_STEPS,
  readiness: {
    inject: [TaskEventEncoder],
    // Not the registry itself: warm encoders never ask it, so its outage must not take us out of service.
    checks: (encoder: TaskEventEncoder) => [{ name: 'encoders', check: () => encoder.warm() }],
  } satisfies ContextModule<CommandServiceConfig>['readiness'],
};
