import { getTestInfra } from '@cqrs/testing';
import { Client, Pool } from 'pg';
import { withPooledClient } from './in-transaction';

// Found by the fault drill (npm run chaos): Postgres restarting while the projector held a
// connection between two statements ended the projector with an unhandled 'error' event.
describe('withPooledClient when the server ends the connection between statements', () => {
  let pool: Pool;
  let admin: Client;

  beforeAll(async () => {
    const infra = await getTestInfra();
    pool = new Pool({ connectionString: infra.postgres.adminUrl, max: 2 });
    pool.on('error', () => undefined);
    admin = new Client({ connectionString: infra.postgres.adminUrl });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await pool?.end();
  });

  it('rejects the next statement instead of crashing the process', async () => {
    const work = withPooledClient(pool, async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // The server's "terminating connection" arrives while no statement is running.
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await client.query('SELECT 1');
    });
    await expect(work).rejects.toThrow();
    // The pool still serves: the lost connection was not handed out again.
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(rows[0]?.one).toBe(1);
  });
});
