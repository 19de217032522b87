import type { StartTask } from '@cqrs/tasks-domain';
import { CommandHandler } from '@nestjs/cqrs';
import { TaskCommandHandler, TaskCommandMessage } from '../task-command.executor';

export class StartTaskCommand extends TaskCommandMessage<StartTask> {}

@CommandHandler(StartTaskCommand)
export class StartTaskHandler extends TaskCommandHandler<StartTaskCommand> {}
