import { bootstrap } from '@cqrs/http';
import { AppModule } from './app.module';
import { loadCommandServiceConfig } from './config';

void bootstrap({
  service: 'command-service',
  description: 'Write side: accepts commands on tasks and appends their events.',
  loadConfig: () => loadCommandServiceConfig(),
  module: (config) => AppModule.forRoot(config),
});
