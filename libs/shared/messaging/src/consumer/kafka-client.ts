import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { ConsumerLogger } from './batch-consumer';

/** Options of {@link createKafka}. */
export interface KafkaClientOptions {
  clientId: string;
  brokers: string[];
  /** Where kafkajs' own log lines go (instead of the console). @default nowhere */
  logger?: ConsumerLogger;
  /** Lowest kafkajs level passed on. @default logLevel.WARN */
  level?: logLevel;
}

/**
 * A kafkajs client whose log lines go to the service's structured logger: kafkajs otherwise
 * writes to the console in its own format.
 */
export function createKafka(options: KafkaClientOptions): Kafka {
  const logger = options.logger;
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logger ? (options.level ?? logLevel.WARN) : logLevel.NOTHING,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        if (!logger) return;
        const { message, ...details } = log;
        const fields = { ...details, kafka_namespace: namespace };
        if (level <= logLevel.ERROR) logger.error(fields, message);
        else if (level === logLevel.WARN) logger.warn(fields, message);
        else logger.info(fields, message);
      },
  });
}
