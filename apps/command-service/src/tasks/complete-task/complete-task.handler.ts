import type { CompleteTask } from '@cqrs/tasks-domain';
import { CommandHandler } from '@nestjs/cqrs';
import { TaskCommandHandler, TaskCommandMessage } from '../task-command.executor';

export class CompleteTaskCommand extends TaskCommandMessage<CompleteTask> {}

@CommandHandler(CompleteTaskCommand)
export class CompleteTaskHandler extends TaskCommandHandler<CompleteTaskCommand> {}
