import { bootstrap } from '@cqrs/http';
import { AppModule } from './app.module';
import { loadQueryServiceConfig } from './config';

void bootstrap({
  service: 'query-service',
  description: 'Read side: serves task read models with caching and read-your-writes.',
  loadConfig: () => loadQueryServiceConfig(),
  module: (config) => AppModule.forRoot(config),
});
