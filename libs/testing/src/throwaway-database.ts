import { randomBytes } from 'node:crypto';
import { dropDatabase, quoteIdent, withClient } from './database-cleanup';

/** A database created for one test file and dropped after it, with its own name and URL. */
export interface ThrowawayDatabase {
  name: string;
  /** Superuser URL for this database. */
  url: string;
  query<T = unknown>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/**
 * Creates a uniquely named database through the admin URL; `drop()` also drops its replication
 * slots (ending any walsender still streaming from one) and throws when it cannot, since a slot
 * left behind pins WAL for the whole server. Add a new `prefix` to TEST_DATABASE_PREFIXES, so the
 * pre-flight of `npm test` removes what an interrupted run leaves.
 * Holds no connection between calls, so a test that restarts PostgreSQL under it can still drop it.
 */
export async function createThrowawayDatabase(adminUrl: string, prefix: string): Promise<ThrowawayDatabase> {
  if (!/^[a-z][a-z0-9_]*$/.test(prefix))
    throw new Error(`database prefix ${JSON.stringify(prefix)}: use lower-case letters, digits and _`);
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await withClient(adminUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: url.toString(),
    query: <T>(sql: string, params?: unknown[]) =>
      withClient(url.toString(), async (client) => (await client.query(sql, params)).rows as T[]),
    drop: () => dropDatabase(adminUrl, name),
  };
}

/**
 * Does to database `database` what tools/local-stack/postgres/init.sql does to the app databases,
 * as its owner (`ownerUrl`): nobody but the owner and `roles` connects, and `roles` get USAGE on
 * the schema (nobody else gets anything on it). Table privileges are the migrations' business, so
 * run them as the owner afterwards and the roles see exactly what they see in production.
 */
export async function restrictToRoles(ownerUrl: string, database: string, roles: readonly string[]): Promise<void> {
  await withClient(ownerUrl, async (client) => {
    await client.query(`REVOKE ALL ON DATABASE ${quoteIdent(database)} FROM PUBLIC`);
    await client.query(`REVOKE ALL ON SCHEMA public FROM PUBLIC`);
    if (roles.length === 0) return;
    const list = roles.map(quoteIdent).join(', ');
    await client.query(`GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${list}`);
    await client.query(`GRANT USAGE ON SCHEMA public TO ${list}`);
  });
}
