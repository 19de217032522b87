import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** A database created for one test file and dropped after it, with its own name and URL. */
export interface ThrowawayDatabase {
  name: string;
  /** Superuser URL for this database. */
  url: string;
  query<T = unknown>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/**
 * Creates a uniquely named database through the admin URL; `drop()` also drops its replication slots.
 * Holds no connection between calls, so a test that restarts PostgreSQL under it can still drop it.
 */
export async function createThrowawayDatabase(adminUrl: string, prefix: string): Promise<ThrowawayDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const withClient = async <T>(connectionString: string, work: (client: Client) => Promise<T>): Promise<T> => {
    const client = new Client({ connectionString });
    // A server going away mid-test must fail the call, not crash the test process.
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  await withClient(adminUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: url.toString(),
    query: <T>(sql: string, params?: unknown[]) => withClient(url.toString(), async (client) => (await client.query(sql, params)).rows as T[]),
    drop: () =>
      withClient(adminUrl, async (admin) => {
        // a slot left behind would pin WAL forever and block DROP DATABASE
        await admin.query(
          'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active',
          [name],
        );
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
}
