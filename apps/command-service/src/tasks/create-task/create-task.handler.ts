import type { CreateTask } from '@cqrs/tasks-domain';
import { CommandHandler } from '@nestjs/cqrs';
import { TaskCommandHandler, TaskCommandMessage } from '../task-command.executor';

export class CreateTaskCommand extends TaskCommandMessage<CreateTask> {}

@CommandHandler(CreateTaskCommand)
export class CreateTaskHandler extends TaskCommandHandler<CreateTaskCommand> {}
