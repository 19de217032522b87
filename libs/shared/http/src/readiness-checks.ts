import type { Admin, Kafka } from 'kafkajs';
import { Agent as HttpsAgent, get as httpsGet } from 'node:https';
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
  const own =
    typeof db === 'string'
      ? new Pool({ connectionString: db, max: 1, allowExitOnIdle: true, application_name: 'readiness' })
      : undefined;
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

/** Credentials and trust for {@link httpCheck}. */
export interface HttpCheckOptions {
  /** Headers of each probe (e.g. the registry's `authorization`), asked anew every time (rotating tokens). */
  headers?: () => Record<string, string>;
  /** PEM bundle to trust for an https URL instead of Node's CAs. */
  ca?: string;
}

/**
 * An HTTP dependency (e.g. the schema registry) answers 2xx on the given URL, asked with the
 * app's own credentials and trust (`options`); connections are kept alive between probes.
 */
export const httpCheck = (name: string, url: string, options: HttpCheckOptions = {}): ReadinessCheck => {
  const agent =
    options.ca && url.startsWith('https:') ? new HttpsAgent({ ca: options.ca, keepAlive: true }) : undefined;
  return {
    name,
    check: async () => {
      const headers = options.headers?.() ?? {};
      const status = agent ? await statusOf(url, agent, headers) : (await fetch(url, { headers })).status;
      if (status < 200 || status >= 300) throw new Error(`${url} answered ${status}`);
    },
    ...(agent ? { close: async () => agent.destroy() } : {}),
  };
};

/** GET `url` through `agent` (a CA of its own: fetch cannot take one without undici); resolves with the status. */
function statusOf(url: string, agent: HttpsAgent, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, { agent, headers }, (response) => {
      response.resume(); // drain, so the connection goes back to the agent
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}
