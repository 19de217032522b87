import { Kafka, logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import { kafkaSecurityFromEnv, type KafkaSecurity } from '@cqrs/config';

/** Where kafkajs' log lines go: a structured logger (the consumer's `ConsumerLogger` is one). */
export interface KafkaLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** Options of {@link createKafka}. */
export interface KafkaClientOptions {
  clientId: string;
  brokers: string[];
  /**
   * TLS and SASL of the connections, as {@link kafkaSecurityFromEnv} reads them from
   * `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SSL_*` and `KAFKA_SASL_*`. Apps read it once with their
   * config; omitted, it is read from `process.env` here.
   */
  security?: KafkaSecurity;
  /** Where kafkajs' own log lines go (instead of the console). @default nowhere */
  logger?: KafkaLogger;
  /** Lowest kafkajs level passed on. @default logLevel.WARN */
  level?: logLevel;
  /** Further kafkajs settings (timeouts, retries, a log creator of the caller's own). */
  tuning?: Omit<KafkaConfig, 'clientId' | 'brokers' | 'ssl' | 'sasl'>;
}

/**
 * Every Kafka client of the system (apps, CLIs, readiness checks, tests, tools) is made here, so
 * all of them speak the same transport security. kafkajs' log lines go to the service's
 * structured logger: kafkajs otherwise writes to the console in its own format.
 */
export function createKafka(options: KafkaClientOptions): Kafka {
  const logger = options.logger;
  const security = options.security ?? kafkaSecurityFromEnv(process.env);
  return new Kafka({
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
    ...options.tuning,
    clientId: options.clientId,
    brokers: options.brokers,
    ...(security.ssl !== undefined ? { ssl: security.ssl } : {}),
    // A copy per client: kafkajs caches the mechanism's authenticator, with the password it was
    // made with, on the options object it is given (sasl.authenticationProvider); on a shared
    // object a later client made with another password would authenticate with the first one's.
    ...(security.sasl !== undefined ? { sasl: { ...security.sasl } } : {}),
  });
}
