import { DynamicModule, Module } from '@nestjs/common';
import { CommandMetricsInterceptor } from '../commands';
import type { CommandServiceConfig } from '../config';
import { PROJECT_COMMAND_HANDLERS, ProjectCommandExecutor } from './project-commands';
import { ProjectEventEncoder } from './project-event.encoder';
import { ProjectsController } from './projects.controller';

/** The projects context's commands: routes, handlers, and the Avro encoder of its outbox rows. */
@Module({})
export class ProjectsModule {
  static forRoot(config: CommandServiceConfig): DynamicModule {
    return {
      module: ProjectsModule,
      controllers: [ProjectsController],
      providers: [
        { provide: ProjectEventEncoder, useFactory: () => ProjectEventEncoder.create(config.schemaRegistry) },
        ProjectCommandExecutor,
        CommandMetricsInterceptor,
        ...PROJECT_COMMAND_HANDLERS,
      ],
      exports: [ProjectEventEncoder],
    };
  }
}
