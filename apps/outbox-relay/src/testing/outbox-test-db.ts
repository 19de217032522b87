import { migrateEventStore } from '@cqrs/event-store';
import { dropDatabase } from '@cqrs/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';

/** One outbox row as a test writes it (`payload` is any bytes: the relay never decodes it). */
export interface TestOutboxRow {
  id?: string;
  aggregateType: string;
  aggregateId: string;
  type?: string;
  payload: Buffer;
  aggregateVersion: number;
  traceparent?: string | null;
  tracestate?: string | null;
  correlationId?: string | null;
}

/** A migrated throwaway write database: the event-store schema, the outbox and its publication. */
export interface OutboxTestDb {
  name: string;
  /** cqrs_owner on this database (writes rows in these tests). */
  ownerUrl: string;
  /** cqrs_relay on this database (what the relay and Debezium connect as). */
  relayUrl: string;
  /** Superuser on this database. */
  adminUrl: string;
  /** Inserts rows in one transaction; with `deleteInSameTransaction` they are deleted before commit. */
  insert(rows: TestOutboxRow[], options?: { deleteInSameTransaction?: boolean; rollback?: boolean }): Promise<string[]>;
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Creates a pgoutput slot now, so it captures everything committed from here on. */
  createSlot(name: string): Promise<void>;
  drop(): Promise<void>;
}

/**
 * Creates and migrates a database with the event store's own migrations (so the outbox and the
 * `cqrs_outbox` publication are exactly what production gets). `drop()` also drops its slots.
 */
export async function createOutboxTestDb(
  infra: { adminUrl: string; ownerWriteUrl: string; relayUrl: string },
  prefix: string,
): Promise<OutboxTestDb> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  // A server restart mid-test must fail the test, not kill the process with an unhandled 'error'.
  const quiet = (client: Client) => (client.on('error', () => undefined), client);
  const admin = quiet(new Client({ connectionString: infra.adminUrl }));
  await admin.connect();
  const owner = new URL(infra.ownerWriteUrl).username;
  await admin.query(`CREATE DATABASE ${name} OWNER ${owner}`);
  const on = (url: string) => {
    const u = new URL(url);
    u.pathname = `/${name}`;
    return u.toString();
  };
  const ownerUrl = on(infra.ownerWriteUrl);
  await migrateEventStore(ownerUrl);
  const writer = quiet(new Client({ connectionString: ownerUrl }));
  await writer.connect();
  const dbAdmin = quiet(new Client({ connectionString: on(infra.adminUrl) }));
  await dbAdmin.connect();
  return {
    name,
    ownerUrl,
    relayUrl: on(infra.relayUrl),
    adminUrl: on(infra.adminUrl),
    async insert(rows, options = {}) {
      const ids = rows.map((r) => r.id ?? randomUUID());
      await writer.query('BEGIN');
      try {
        for (const [i, r] of rows.entries()) {
          await writer.query(
            `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, aggregateversion, traceparent, tracestate, correlationid)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
            [
              ids[i],
              r.aggregateType,
              r.aggregateId,
              r.type ?? 'TaskCreated',
              r.payload,
              r.aggregateVersion,
              r.traceparent ?? null,
              r.tracestate ?? null,
              r.correlationId ?? null,
            ],
          );
        }
        if (options.deleteInSameTransaction) await writer.query('DELETE FROM outbox WHERE id = ANY($1::uuid[])', [ids]);
        await writer.query(options.rollback ? 'ROLLBACK' : 'COMMIT');
      } catch (error) {
        await writer.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      return ids;
    },
    query: async <T>(sql: string, params?: unknown[]) => (await dbAdmin.query(sql, params)).rows as T[],
    async createSlot(slot) {
      await dbAdmin.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    },
    async drop() {
      await writer.end().catch(() => undefined);
      await dbAdmin.end().catch(() => undefined);
      await admin.end().catch(() => undefined);
      // A slot left behind pins WAL for everyone on this server: this ends whatever still streams
      // from the database's slots, drops them and the database, and throws if it cannot.
      await dropDatabase(infra.adminUrl, name);
    },
  };
}

/** A payload like the command side writes: Confluent wire format (magic 0, 4-byte schema id) then bytes. */
export function fakeAvroPayload(size: number, schemaId = 7): Buffer {
  const payload = randomBytes(size);
  payload[0] = 0;
  payload.writeInt32BE(schemaId, 1);
  return payload;
}
