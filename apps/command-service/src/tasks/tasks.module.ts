import { DynamicModule, Module } from '@nestjs/common';
import { CommandMetricsInterceptor } from '../commands';
import type { CommandServiceConfig } from '../config';
import { AbandonTaskHandler } from './abandon-task/abandon-task.handler';
import { CompleteTaskHandler } from './complete-task/complete-task.handler';
import { CreateTaskHandler } from './create-task/create-task.handler';
import { DeleteTaskHandler } from './delete-task/delete-task.handler';
import { StartTaskHandler } from './start-task/start-task.handler';
import { TaskCommandExecutor } from './task-command.executor';
import { TaskEventEncoder } from './task-event.encoder';
import { TasksController } from './tasks.controller';
import { UpdateTaskHandler } from './update-task/update-task.handler';

/** The tasks context's commands: routes, handlers, and the Avro encoder of its outbox rows. */
@Module({})
export class TasksModule {
  static forRoot(config: CommandServiceConfig): DynamicModule {
    return {
      module: TasksModule,
      controllers: [TasksController],
      providers: [
        { provide: TaskEventEncoder, useFactory: () => TaskEventEncoder.create(config.schemaRegistry) },
        TaskCommandExecutor,
        CommandMetricsInterceptor,
        CreateTaskHandler,
        UpdateTaskHandler,
        StartTaskHandler,
        CompleteTaskHandler,
        AbandonTaskHandler,
        DeleteTaskHandler,
      ],
      exports: [TaskEventEncoder],
    };
  }
}
