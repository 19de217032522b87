import type { UpdateTask } from '@cqrs/tasks-domain';
import { CommandHandler } from '@nestjs/cqrs';
import { TaskCommandHandler, TaskCommandMessage } from '../task-command.executor';

export class UpdateTaskCommand extends TaskCommandMessage<UpdateTask> {}

@CommandHandler(UpdateTaskCommand)
export class UpdateTaskHandler extends TaskCommandHandler<UpdateTaskCommand> {}
