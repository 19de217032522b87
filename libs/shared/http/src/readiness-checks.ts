import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import type { ReadinessCheck } from './health.module';

// Each probe opens and closes its own connection: a probe must not depend on (or exhaust)
// the pools the app serves traffic with, and a reconnect is exactly what it should test.

/** Postgres accepts a connection and answers a trivial query. */
export const postgresCheck = (name: string, connectionString: string, timeoutMs = 2000): ReadinessCheck => ({
  name,
  check: async () => {
    const client = new Client({ connectionString, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
    try {
      await client.connect();
      await client.query('SELECT 1');
    } finally {
      await client.end().catch(() => undefined);
    }
  },
});

/** The Kafka cluster answers a metadata request and names a controller. */
export const kafkaCheck = (brokers: string[], timeoutMs = 2000): ReadinessCheck => ({
  name: 'kafka',
  check: async () => {
    const admin = new Kafka({
      clientId: 'readiness',
      brokers,
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return { brokers: cluster.brokers.length, controller: cluster.controller };
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },
});

/** An HTTP dependency (e.g. the schema registry) answers 2xx on the given URL. */
export const httpCheck = (name: string, url: string, timeoutMs = 2000): ReadinessCheck => ({
  name,
  check: async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  },
});
