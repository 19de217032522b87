import { bootstrap } from '@cqrs/http';
import { AppModule } from './app.module';
import { loadProjectorConfig } from './config';

void bootstrap({
  service: 'projector',
  description: 'Builds the read models of every registered context from their events on Kafka.',
  loadConfig: () => loadProjectorConfig(),
  module: (config) => AppModule.forRoot(config),
});
