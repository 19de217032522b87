// First: replaces parts of kafkajs before anything loads it.
import './kafkajs-preload';
import { bootstrap } from '@cqrs/http';
import { AppModule } from './app.module';
import { loadOutboxRelayConfig } from './config';

void bootstrap({
  service: 'outbox-relay',
  description: 'Streams the outbox from Postgres logical replication to Kafka.',
  loadConfig: () => loadOutboxRelayConfig(),
  module: (config) => AppModule.forRoot(config),
});
