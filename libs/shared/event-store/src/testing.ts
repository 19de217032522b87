/**
 * Test-only entry of the event store (`@cqrs/event-store/testing`): throwaway migrated
 * databases on a real PostgreSQL and a stand-in outbox encoder. Never import it from app code.
 */
import { dropDatabase, quoteIdent, restrictToRoles, withClient } from '@cqrs/testing';
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createEventStoreDataSource } from './lib/data-source';
import type { OutboxEncodeInput } from './lib/event-store.types';
import { runEventStoreMigrations } from './lib/migrate';

/** A database that exists for one test file. */
export interface ThrowawayDatabase {
  name: string;
  /** Owner-role URL of the database (the owner of `ownerUrl`). */
  url: string;
  /** The same database, reached as another role's URL (e.g. the app role). */
  urlAs(roleUrl: string): string;
  /** Drops the database and its replication slots, closing whatever connections are still open. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database owned by `ownerUrl`'s role. With `appRoles`, it is set up as
 * tools/local-stack/postgres/init.sql sets up the real write database: only the owner and those
 * roles may connect, and they get USAGE on the schema and nothing else. Table privileges come
 * from the migrations (run them as the owner), so app-role tests see production privileges.
 */
export async function createThrowawayDatabase(options: {
  adminUrl: string;
  ownerUrl: string;
  prefix?: string;
  /** Role names (e.g. `cqrs_command`, `cqrs_relay`) that may connect, as on the real database. */
  appRoles?: string[];
}): Promise<ThrowawayDatabase> {
  const name = `${options.prefix ?? 'es_test'}_${randomBytes(6).toString('hex')}`;
  const owner = new URL(options.ownerUrl).username;
  await withClient(options.adminUrl, (admin) => admin.query(`CREATE DATABASE ${name} OWNER ${quoteIdent(owner)}`));
  const urlAs = (roleUrl: string) => {
    const url = new URL(roleUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  const url = urlAs(options.ownerUrl);
  if (options.appRoles) await restrictToRoles(url, name, options.appRoles);
  return {
    name,
    url,
    urlAs,
    // Its replication slots too (a slot left behind pins WAL server-wide); throws if it cannot.
    drop: () => dropDatabase(options.adminUrl, name),
  };
}

/** A throwaway database with the event store's migrations applied, and a DataSource on it. */
export async function createEventStoreTestDatabase(options: {
  adminUrl: string;
  ownerUrl: string;
  poolSize?: number;
}): Promise<ThrowawayDatabase & { dataSource: DataSource }> {
  const db = await createThrowawayDatabase(options);
  const dataSource = createEventStoreDataSource({
    url: db.url,
    poolSize: options.poolSize ?? 10,
    applicationName: 'es-test',
  });
  await dataSource.initialize();
  await runEventStoreMigrations(dataSource);
  return {
    ...db,
    dataSource,
    drop: async () => {
      if (dataSource.isInitialized) await dataSource.destroy();
      await db.drop();
    },
  };
}

/**
 * Encodes like the real serde's frame (magic byte 0, 4-byte big-endian schema id) but with JSON
 * instead of Avro in the body, so tests can check exactly which bytes reached the outbox.
 */
export function fakeWireEncoder(schemaId = 1) {
  return (input: OutboxEncodeInput): Buffer => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(schemaId, 1);
    return Buffer.concat([header, Buffer.from(JSON.stringify({ type: input.event.type, data: input.event.data }))]);
  };
}

export { withClient };

/** A tiny aggregate for store tests: a running total whose digest depends on event order. */
export type CounterEvent = { type: 'Added'; data: { amount: number } } | { type: 'Reset'; data: Record<string, never> };
export type CounterCommand =
  | { type: 'Add'; amount: number }
  | { type: 'Reset' }
  /** Rejected (`OVER_MAX`) when the total would exceed `max`: a rule that depends on state. */
  | { type: 'AddUpTo'; amount: number; max: number }
  /** Decides nothing. */
  | { type: 'Touch' };
export interface CounterState {
  total: number;
  count: number;
  /** Order-sensitive fold, so a snapshot+tail that skipped or reordered an event shows up. */
  digest: number;
}

export const counterDecider = {
  initialState: (): CounterState => ({ total: 0, count: 0, digest: 7 }),
  evolve: (state: CounterState, event: CounterEvent): CounterState => {
    const amount = event.type === 'Added' ? event.data.amount : -state.total;
    return {
      total: state.total + amount,
      count: state.count + 1,
      digest: (state.digest * 31 + amount + 1_000_003) % 2_147_483_647,
    };
  },
  decide: (command: CounterCommand, state: CounterState): CounterEvent[] => {
    switch (command.type) {
      case 'Add':
        return [{ type: 'Added', data: { amount: command.amount } }];
      case 'Reset':
        return [{ type: 'Reset', data: {} }];
      case 'AddUpTo':
        if (state.total + command.amount > command.max)
          throw new Error(`OVER_MAX: ${state.total} + ${command.amount} > ${command.max}`);
        return [{ type: 'Added', data: { amount: command.amount } }];
      case 'Touch':
        return [];
    }
  },
};
