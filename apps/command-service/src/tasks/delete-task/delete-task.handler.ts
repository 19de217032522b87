import type { DeleteTask } from '@cqrs/tasks-domain';
import { CommandHandler } from '@nestjs/cqrs';
import { TaskCommandHandler, TaskCommandMessage } from '../task-command.executor';

export class DeleteTaskCommand extends TaskCommandMessage<DeleteTask> {}

@CommandHandler(DeleteTaskCommand)
export class DeleteTaskHandler extends TaskCommandHandler<DeleteTaskCommand> {}
