import { createKafka } from '..';
import { randomBytes } from 'node:crypto';
import {
  CONNECT_PRINCIPAL,
  createThrowawayDatabase,
  getTestInfra,
  grantTopicPrefix,
  type TestInfra,
  type ThrowawayDatabase,
} from '@cqrs/testing';
import type { Admin } from 'kafkajs';

// Smoke test: Kafka Connect is real and carries the Debezium Postgres connector, which captures a
// table through pgoutput and publishes its rows to Kafka.
describe('Kafka Connect + Debezium Postgres connector (smoke)', () => {
  const suffix = randomBytes(4).toString('hex');
  const connector = `smoke-debezium-${suffix}`;
  const prefix = `smoke_dbz_${suffix}`;
  let infra: TestInfra;
  let db: ThrowawayDatabase;
  let admin: Admin;
  let revoke: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    infra = await getTestInfra();
    // The worker's identity may write only the system's topics: grant this connector's, as an operator would.
    admin = createKafka({ clientId: 'smoke-debezium', ...infra.kafka }).admin();
    await admin.connect();
    revoke = await grantTopicPrefix(admin, CONNECT_PRINCIPAL, `${prefix}.`);
    db = await createThrowawayDatabase(infra.postgres.adminUrl, 'smoke_dbz');
    await db.query('CREATE TABLE captured (id int PRIMARY KEY, note text NOT NULL)');
  });

  afterAll(async () => {
    await fetch(`${infra.connect.url}/connectors/${connector}`, { method: 'DELETE' });
    // the connector drops its slot on stop; wait until it has, so the database can go
    for (let i = 0; i < 50; i++) {
      const [row] = await db.query<{ n: string }>(
        'SELECT count(*) AS n FROM pg_replication_slots WHERE database = current_database() AND active',
      );
      if (row?.n === '0') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await db.drop();
    await revoke?.();
    await admin?.disconnect();
  });

  it('reaches RUNNING and publishes an inserted row to Kafka', async () => {
    const plugins = (await (await fetch(`${infra.connect.url}/connector-plugins`)).json()) as { class: string }[];
    expect(plugins.map((p) => p.class)).toContain('io.debezium.connector.postgresql.PostgresConnector');

    const pg = new URL(db.url);
    const response = await fetch(`${infra.connect.url}/connectors`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: connector,
        config: {
          'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
          'database.hostname': pg.hostname,
          'database.port': pg.port,
          'database.user': decodeURIComponent(pg.username),
          'database.password': decodeURIComponent(pg.password),
          'database.dbname': db.name,
          'topic.prefix': prefix,
          'plugin.name': 'pgoutput',
          'slot.name': `slot_${suffix}`,
          'slot.drop.on.stop': 'true',
          'publication.name': `pub_${suffix}`,
          'publication.autocreate.mode': 'filtered',
          'table.include.list': 'public.captured',
          'snapshot.mode': 'no_data',
          'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
          'key.converter.schemas.enable': 'false',
          'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
          'value.converter.schemas.enable': 'false',
        },
      }),
    });
    expect(response.status).toBe(201);

    const deadline = Date.now() + 60_000;
    let state = '';
    while (Date.now() < deadline) {
      const status = (await (await fetch(`${infra.connect.url}/connectors/${connector}/status`)).json()) as {
        connector?: { state: string };
        tasks?: { state: string; trace?: string }[];
      };
      state = `${status.connector?.state}/${status.tasks?.[0]?.state}`;
      if (state === 'RUNNING/RUNNING') break;
      if (status.tasks?.[0]?.state === 'FAILED') throw new Error(`connector task failed: ${status.tasks[0].trace}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(state).toBe('RUNNING/RUNNING');

    // The slot exists once the task streams; only then is an insert guaranteed to be captured.
    for (let i = 0; i < 100; i++) {
      const [row] = await db.query<{ n: string }>(
        'SELECT count(*) AS n FROM pg_replication_slots WHERE database = current_database() AND active',
      );
      if (row?.n === '1') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await db.query("INSERT INTO captured VALUES (1, 'captured by debezium')");

    const kafka = createKafka({ clientId: 'smoke', ...infra.kafka });
    const consumer = kafka.consumer({ groupId: `smoke-dbz-${suffix}` });
    await consumer.connect();
    const topic = `${prefix}.public.captured`;
    // the topic appears with the first record; subscribe retries until the broker knows it
    for (let i = 0; ; i++) {
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        break;
      } catch (error) {
        if (i > 60) throw error;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const value = await new Promise<{ op: string; after: { id: number; note: string } }>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(JSON.parse(String(message.value))) });
    });
    await consumer.disconnect();

    expect(value.op).toBe('c');
    expect(value.after).toEqual({ id: 1, note: 'captured by debezium' });
  });
});
