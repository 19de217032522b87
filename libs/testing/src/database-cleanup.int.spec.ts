import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import { Client } from 'pg';
import { cleanTestLeftovers, dropDatabase } from './database-cleanup';
import { getTestInfra } from './test-infra';
import { createThrowawayDatabase, type ThrowawayDatabase } from './throwaway-database';

// Dropping a test database must take its replication slots with it (an inactive slot pins WAL for
// the whole server; a streaming one blocks DROP DATABASE even WITH (FORCE)), and say so when it cannot.
describe('dropping test databases and their slots', () => {
  let adminUrl: string;
  const dropLater: ThrowawayDatabase[] = [];

  beforeAll(async () => {
    adminUrl = (await getTestInfra()).postgres.adminUrl;
  });

  afterAll(async () => {
    for (const db of dropLater) await db.drop();
  });

  const admin = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  };
  const leftOf = async (db: ThrowawayDatabase, slot: string) => ({
    database: (await admin('SELECT 1 FROM pg_database WHERE datname = $1', [db.name])).length,
    slot: (await admin('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).length,
  });
  const withSlot = async (db: ThrowawayDatabase) => {
    dropLater.push(db);
    const slot = db.name; // unique like the database
    await db.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    // The session that created the slot is gone once the server has noticed the disconnect.
    for (let i = 0; (await admin('SELECT 1 FROM pg_stat_activity WHERE datname = $1', [db.name])).length; i++) {
      if (i > 50) throw new Error(`${db.name} still has sessions`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { db, slot };
  };

  it('drops an inactive slot and its database', async () => {
    const { db, slot } = await withSlot(await createThrowawayDatabase(adminUrl, 'drop_test'));
    await db.drop();
    expect(await leftOf(db, slot)).toEqual({ database: 0, slot: 0 });
  });

  it('ends a walsender still streaming from a slot, then drops the slot and the database', async () => {
    const { db, slot } = await withSlot(await createThrowawayDatabase(adminUrl, 'drop_test'));
    await db.query('CREATE TABLE t (id int PRIMARY KEY)');
    await db.query('CREATE PUBLICATION p FOR TABLE t');
    // A consumer that is never stopped, like a relay a test forgot (or a stop the server has not noticed yet).
    const service = new LogicalReplicationService(
      { connectionString: db.url },
      { acknowledge: { auto: true, timeoutSeconds: 1 } },
    );
    service.on('error', () => undefined);
    void service
      .subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: ['p'] }), slot)
      .catch(() => undefined);
    try {
      for (
        let i = 0;
        !(await admin<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]))[0]
          ?.active;
        i++
      ) {
        if (i > 100) throw new Error(`slot ${slot} never became active`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // This is what a plain DROP DATABASE ... WITH (FORCE) runs into.
      await expect(admin(`DROP DATABASE ${db.name} WITH (FORCE)`)).rejects.toThrow(
        'is used by an active logical replication slot',
      );

      await db.drop();
      expect(await leftOf(db, slot)).toEqual({ database: 0, slot: 0 });
    } finally {
      await service.stop().catch(() => undefined);
    }
  });

  it('fails loudly, naming the database and its slot, when the database cannot be dropped', async () => {
    const { db, slot } = await withSlot(await createThrowawayDatabase(adminUrl, 'drop_test'));
    // Connected to the database itself, the drop can only fail.
    await expect(dropDatabase(db.url, db.name, { attempts: 1 })).rejects.toThrow(
      new RegExp(
        `^could not drop test database ${db.name} \\(1 attempts\\): cannot disallow connections for current database; replication slots still on it.*: ${slot}\\.`,
      ),
    );
    await db.drop();
    expect(await leftOf(db, slot)).toEqual({ database: 0, slot: 0 });
  });

  it('removes leftovers by prefix, keeping a database that is in use or too young', async () => {
    const leftover = await withSlot(await createThrowawayDatabase(adminUrl, 'cleanup_probe'));
    const inUse = await withSlot(await createThrowawayDatabase(adminUrl, 'cleanup_probe'));
    const session = new Client({ connectionString: inUse.db.url });
    await session.connect();
    try {
      const young = await cleanTestLeftovers(adminUrl, { prefixes: ['cleanup_probe'], minAgeMs: 60 * 60_000 });
      expect(young.removed).toEqual([]);
      expect(young.kept.map((k) => [k.name, k.reason])).toEqual(
        expect.arrayContaining([
          [leftover.db.name, expect.stringMatching(/^created .* min ago/)],
          [inUse.db.name, '1 open session(s)'],
        ]),
      );

      const report = await cleanTestLeftovers(adminUrl, { prefixes: ['cleanup_probe'], minAgeMs: 0 });
      expect(report.failed).toEqual([]);
      expect(report.removed.map((r) => [r.name, r.slots.map((s) => s.name)])).toContainEqual([
        leftover.db.name,
        [leftover.slot],
      ]);
      expect(report.kept.map((k) => k.name)).toContain(inUse.db.name);
      expect(report.otherInactiveSlots.map((s) => s.name)).not.toContain(leftover.slot);
      expect(await leftOf(leftover.db, leftover.slot)).toEqual({ database: 0, slot: 0 });
      expect(await leftOf(inUse.db, inUse.slot)).toEqual({ database: 1, slot: 1 });
    } finally {
      await session.end();
    }
  });
});
