import type { Pool, PoolClient } from 'pg';

const guarded = new WeakSet<PoolClient>();

/**
 * Runs `work` on one pooled connection and releases it; if `work` throws, whatever transaction
 * it opened is rolled back first. For work that sends BEGIN and COMMIT itself (inside other
 * statements, to save round trips).
 */
export async function withPooledClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client has no pool listener: a server shutdown between two statements (or its
  // "connection terminated" just after the release) would emit an unhandled 'error' and end the
  // process. Each connection gets one listener for life; the next statement rejects instead.
  if (!guarded.has(client)) {
    client.on('error', () => undefined);
    guarded.add(client);
  }
  try {
    return await work(client);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
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
