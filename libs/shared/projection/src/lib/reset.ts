import type { Admin } from 'kafkajs';
import type { Pool } from 'pg';
import { sqlIdentifier } from './read-database';
import type { StreamProjectionDefinition } from './stream-batch';

/** Why a reset did not start; nothing was changed. */
export class ResetRefusedError extends Error {
  override readonly name = 'ResetRefusedError';
}

/**
 * Rebuilds a stream projection from its topics: resets its group to the earliest offsets, then
 * empties its tables and checkpoints in one transaction; the next start replays every event.
 * Its projector instances must be stopped (the broker refuses to move an active group's offsets).
 * In this order a failure half-way loses nothing: with the offsets reset but the tables kept, the
 * replay skips every event as a redelivery, and running the reset again finishes it.
 * Needs the topics' full history (event topics keep every event by default).
 */
export async function resetStreamProjection(options: {
  definition: StreamProjectionDefinition;
  groupId: string;
  pool: Pool;
  admin: Admin;
}): Promise<{ tables: string[] }> {
  const { definition, groupId, pool, admin } = options;
  if (!definition.tables || definition.tables.length === 0)
    throw new ResetRefusedError(`projection ${definition.name} declares no tables, so a reset cannot empty them`);
  const tables = definition.tables.map(sqlIdentifier);
  const [group] = (await admin.describeGroups([groupId])).groups;
  if (group && group.members.length > 0)
    throw new ResetRefusedError(
      `consumer group ${groupId} has ${group.members.length} member(s): stop the projectors running ${definition.name} first`,
    );
  for (const topic of definition.topics) await admin.resetOffsets({ groupId, topic, earliest: true });
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const table of tables) await client.query(`DELETE FROM ${table}`);
    await client.query(`DELETE FROM ${sqlIdentifier(definition.checkpointTable)} WHERE projection = $1`, [
      definition.name,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  return { tables };
}
