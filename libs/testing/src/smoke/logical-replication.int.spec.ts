import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import type { Pgoutput } from 'pg-logical-replication';
import { getTestInfra } from '../test-infra';
import { createThrowawayDatabase, ThrowawayDatabase } from '../throwaway-database';

// Smoke test: Postgres runs with wal_level=logical and streams a row through pgoutput, the
// path the outbox-relay and Debezium both depend on.
describe('Postgres logical replication (smoke)', () => {
  let db: ThrowawayDatabase;
  let service: LogicalReplicationService | undefined;

  beforeAll(async () => {
    db = await createThrowawayDatabase((await getTestInfra()).postgres.adminUrl, 'smoke_repl');
  });

  afterAll(async () => {
    await service?.stop();
    await db.drop();
  });

  it('runs with wal_level=logical', async () => {
    expect(await db.query('SHOW wal_level')).toEqual([{ wal_level: 'logical' }]);
  });

  it('reads an inserted row through a slot and publication (pgoutput)', async () => {
    await db.query('CREATE TABLE smoke (id uuid PRIMARY KEY, note text NOT NULL)');
    await db.query("CREATE PUBLICATION smoke_pub FOR TABLE smoke WITH (publish = 'insert')");
    await db.query("SELECT pg_create_logical_replication_slot('smoke_slot', 'pgoutput')");

    service = new LogicalReplicationService(
      { connectionString: db.url },
      { acknowledge: { auto: true, timeoutSeconds: 1 } },
    );
    const inserted = new Promise<Pgoutput.MessageInsert>((resolve, reject) => {
      service!.on('data', (_lsn: string, message: Pgoutput.Message) => {
        if (message.tag === 'insert') resolve(message);
      });
      service!.on('error', reject);
    });
    void service.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: ['smoke_pub'] }), 'smoke_slot');
    await new Promise((r) => setTimeout(r, 500));
    await db.query("INSERT INTO smoke VALUES ('7d1b6a38-5f0e-4a55-9b0a-0c2b5a3c1f00', 'through the WAL')");

    const message = await inserted;
    expect(message.relation.name).toBe('smoke');
    expect(message.new).toEqual({ id: '7d1b6a38-5f0e-4a55-9b0a-0c2b5a3c1f00', note: 'through the WAL' });
    await service.stop();
    service = undefined;
  });
});
