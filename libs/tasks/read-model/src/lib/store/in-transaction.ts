import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` on one pooled connection and releases it; if `work` throws, whatever transaction
 * it opened is rolled back first. For work that sends BEGIN and COMMIT itself (inside other
 * statements, to save round trips).
 */
export async function withPooledClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client has no pool listener: a server shutdown between two statements would
  // emit an unhandled 'error' and end the process. The next statement rejects instead.
  const lost = () => undefined;
  client.on('error', lost);
  try {
    return await work(client);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.off('error', lost);
    client.release();
  }
}

/** Runs `work` on one pooled connection inside BEGIN … COMMIT, rolling back if it throws. */
export function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return withPooledClient(pool, async (client) => {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  });
}
