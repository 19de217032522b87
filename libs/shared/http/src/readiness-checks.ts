import type { Admin, Kafka } from 'kafkajs';
import { Pool } from 'pg';
import type { ReadinessCheck } from './readiness';

// Checks reuse what the app already holds (its pool, its Kafka client), so a probe costs a query
// or a request, never a new connection; readiness bounds each check's time (checkTimeoutMs).

/** A database handle the app already has: a pg `Pool`, a TypeORM `DataSource`, ... */
export interface Queryable {
  query(sql: string): Promise<unknown>;
}

/**
 * Postgres answers a trivial query through `db`, the app's own pool (so readiness also notices a
 * pool that cannot hand out connections). Given a URL instead, for an app without a pool, the
 * check keeps one connection of its own, closed on shutdown.
 */
export function postgresCheck(name: string, db: Queryable | string): ReadinessCheck {
  const own = typeof db === 'string' ? new Pool({ connectionString: db, max: 1, allowExitOnIdle: true, application_name: 'readiness' }) : undefined;
  // An idle connection the server drops (a restart, a failover) is an 'error' on the pool, which
  // without a listener would end the process; the next check simply connects again.
  own?.on('error', () => undefined);
  const pool = own ?? (db as Queryable);
  return {
    name,
    check: async () => {
      await pool.query('SELECT 1');
    },
    ...(own ? { close: () => own.end() } : {}),
  };
}

/**
 * The Kafka cluster answers a metadata request, asked through one admin client of the app's
 * `kafka` client, connected on first use and kept (dropped after a failure, to reconnect).
 */
export function kafkaCheck(kafka: Kafka): ReadinessCheck {
  let admin: Promise<Admin> | undefined;
  const drop = () => {
    const stale = admin;
    admin = undefined;
    void stale?.then((a) => a.disconnect()).catch(() => undefined);
  };
  return {
    name: 'kafka',
    check: async () => {
      admin ??= (async () => {
        // No retries: readiness asks again next time, and a retrying request would outlive the probe.
        const a = kafka.admin({ retry: { retries: 0 } });
        await a.connect();
        return a;
      })();
      try {
        await (await admin).describeCluster();
      } catch (error) {
        drop();
        throw error;
      }
    },
    close: async () => drop(),
  };
}

/** An HTTP dependency (e.g. the schema registry) answers 2xx on the given URL (fetch keeps its connections alive). */
export const httpCheck = (name: string, url: string): ReadinessCheck => ({
  name,
  check: async () => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  },
});
