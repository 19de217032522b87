import { createKafka, type ConsumerLogger } from '@cqrs/messaging/consumer';
import { Pool } from 'pg';
import type { ProjectorConfig } from '../config';
import { Reconciler, type ReconcileOptions, type ReconcileReport } from './reconciler';

/**
 * `projector reconcile` with the projector's configuration: the read database as the projector
 * role (DATABASE_URL), the event store as the projector's store role (EVENT_STORE_DATABASE_URL),
 * the projected topics with the projector's Kafka identity and group prefix.
 */
export async function reconcileWithConfig(
  config: ProjectorConfig,
  options: ReconcileOptions,
  logger: ConsumerLogger,
): Promise<ReconcileReport> {
  const readPool = new Pool({ connectionString: config.DATABASE_URL, max: 3, application_name: 'projector-reconcile' });
  const storePool = new Pool({
    connectionString: config.EVENT_STORE_DATABASE_URL,
    max: 2,
    application_name: 'projector-reconcile',
  });
  // A server that goes away between statements must fail the command, not crash it.
  readPool.on('error', () => undefined);
  storePool.on('error', () => undefined);
  const kafka = createKafka({
    clientId: 'projector-reconcile',
    brokers: config.KAFKA_BROKERS,
    security: config.kafkaSecurity,
    logger,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const reconciler = new Reconciler({
      readPool,
      storePool,
      kafka,
      admin,
      topics: config.PROJECTOR_TOPICS,
      groupPrefix: config.PROJECTOR_GROUP_PREFIX,
    });
    return await reconciler.run(options);
  } finally {
    await Promise.allSettled([admin.disconnect(), readPool.end(), storePool.end()]);
  }
}
