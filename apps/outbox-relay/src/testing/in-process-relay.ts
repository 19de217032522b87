import { KafkaPublisher } from '../relay/kafka-publisher';
import { OutboxRelay, type OutboxRelayOptions } from '../relay/outbox-relay';
import { OutboxRouter, parseHeaderPlacement } from '../relay/outbox-routing';
import type { RelayLogger } from '../relay/relay-logger';
import { DEFAULT_HEADER_PLACEMENT } from '../config';

/** A relay running inside the test process, with its log lines kept for assertions. */
export interface InProcessRelay {
  relay: OutboxRelay;
  logs: string[];
  stop(): Promise<void>;
}

/** Starts an {@link OutboxRelay} against real servers with the app's defaults, overridable per test. */
export function startInProcessRelay(options: {
  databaseUrl: string;
  brokers: string[];
  slotName: string;
  topicReplacement: string;
  topicAutoCreate?: boolean;
  /** `retention.ms` of the topics it creates (EVENT_TOPIC_RETENTION_MS). @default -1 */
  topicRetentionMs?: number;
  publication?: string;
  overrides?: Partial<OutboxRelayOptions>;
}): InProcessRelay {
  const logs: string[] = [];
  const keep = (level: string) => (_: object, message: string) => void logs.push(`${level}: ${message}`);
  const logger: RelayLogger = { debug: () => undefined, log: keep('info'), warn: keep('warn'), error: keep('error') };
  const relay = new OutboxRelay({
    databaseUrl: options.databaseUrl,
    slotName: options.slotName,
    publication: options.publication ?? 'cqrs_outbox',
    slotAutoCreate: true,
    standbyPollMs: 500,
    drainTimeoutMs: 5000,
    walSenderTimeoutMs: 10_000,
    batchMaxEvents: 2000,
    batchMaxPartitionBytes: 900_000,
    maxBufferedEvents: 20_000,
    statusIntervalMs: 500,
    confirmIntervalMs: 100,
    lingerMs: 5,
    retryMaxMs: 2000,
    binaryTuples: true,
    applicationName: 'outbox-relay-test',
    router: new OutboxRouter(options.topicReplacement, parseHeaderPlacement(DEFAULT_HEADER_PLACEMENT)),
    publisher: new KafkaPublisher({
      brokers: options.brokers,
      clientId: 'outbox-relay-test',
      topicAutoCreate: options.topicAutoCreate ?? true,
      topicPartitions: 6,
      topicReplicationFactor: -1,
      topicRetentionMs: options.topicRetentionMs,
      producers: 2,
      logger,
    }),
    logger,
    ...options.overrides,
  });
  relay.start();
  return { relay, logs, stop: () => relay.stop() };
}

/** Polls `probe` until it returns a truthy value (returned) or `timeoutMs` passes (throws with `what`). */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T> | T,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
