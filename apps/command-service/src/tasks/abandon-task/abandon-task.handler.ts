import type { AbandonTask } from '@cqrs/tasks-domain';
import { CommandHandler } from '@nestjs/cqrs';
import { TaskCommandHandler, TaskCommandMessage } from '../task-command.executor';

export class AbandonTaskCommand extends TaskCommandMessage<AbandonTask> {}

@CommandHandler(AbandonTaskCommand)
export class AbandonTaskHandler extends TaskCommandHandler<AbandonTaskCommand> {}
