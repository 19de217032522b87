import type { Pool } from 'pg';

/** A relay replica as PostgreSQL sees its connections. */
export interface RelayReplica {
  /** Its `application_name`: `outbox-relay@<host>:<pid>`. */
  name: string;
  /** Backend pid of its connection (the walsender's for the leader). */
  pid: number;
}

/** The outbox relay as the event store's server sees it (`GET /admin/cqrs/relay`). */
export interface RelayStatus {
  slotName: string;
  /** The server's current WAL write position. */
  currentLsn: string;
  /** The slot; null when it does not exist (the relay never ran, or it was dropped). */
  slot: {
    plugin: string | null;
    active: boolean;
    /** What the relay confirmed as published: everything before it is on Kafka. */
    confirmedFlushLsn: string | null;
    restartLsn: string | null;
    /** `reserved`, `extended`, `unreserved` or `lost` (the WAL it needs is gone). */
    walStatus: string | null;
    /** WAL written since the confirmed position: how far the relay is behind, in bytes. */
    lagBytes: number | null;
    /** WAL the server keeps for the slot, in bytes. */
    retainedBytes: number | null;
  } | null;
  /** The replica streaming from the slot; null when none does. */
  leader:
    | (RelayReplica & {
        /** Replication progress; null when the role may not see it (it needs pg_read_all_stats). */
        sentLsn: string | null;
        flushLsn: string | null;
        state: string | null;
      })
    | null;
  /** Other relay replicas connected, waiting to take the slot over. */
  standbys: RelayReplica[];
}

const RELAY_PREFIX = 'outbox-relay@';
const CONTROL_SUFFIX = '-control';

/**
 * Reads the relay's state from `pg_replication_slots`, `pg_stat_replication`, `pg_stat_activity`
 * and `pg_current_wal_lsn()`, which any role may read (the columns a role without
 * pg_read_all_stats may not see come back null).
 */
export async function readRelayStatus(eventStore: Pool, slotName: string): Promise<RelayStatus> {
  const [slots, wal, connections] = await Promise.all([
    eventStore.query<{
      plugin: string | null;
      active: boolean;
      active_pid: number | null;
      confirmed_flush_lsn: string | null;
      restart_lsn: string | null;
      wal_status: string | null;
      lag_bytes: string | null;
      retained_bytes: string | null;
    }>(
      `SELECT plugin, active, active_pid, confirmed_flush_lsn::text, restart_lsn::text, wal_status,
              pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint::text AS lag_bytes,
              pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text AS retained_bytes
         FROM pg_replication_slots WHERE slot_name = $1`,
      [slotName],
    ),
    eventStore.query<{ lsn: string }>(`SELECT pg_current_wal_lsn()::text AS lsn`),
    eventStore.query<{
      pid: number;
      application_name: string;
      sent_lsn: string | null;
      flush_lsn: string | null;
      state: string | null;
    }>(
      `SELECT a.pid, a.application_name, r.sent_lsn::text, r.flush_lsn::text, r.state
         FROM pg_stat_activity a LEFT JOIN pg_stat_replication r ON r.pid = a.pid
        WHERE a.application_name LIKE $1 ORDER BY a.pid`,
      [`${RELAY_PREFIX}%`],
    ),
  ]);
  const slot = slots.rows[0];
  const number = (text: string | null) => (text === null ? null : Number(text));
  const leaderRow = slot?.active_pid ? connections.rows.find((c) => c.pid === slot.active_pid) : undefined;
  const leaderName = leaderRow?.application_name;
  const standbys = new Map<string, RelayReplica>();
  for (const c of connections.rows) {
    const name = c.application_name.endsWith(CONTROL_SUFFIX)
      ? c.application_name.slice(0, -CONTROL_SUFFIX.length)
      : c.application_name;
    if (name !== leaderName && c.pid !== slot?.active_pid && !standbys.has(name))
      standbys.set(name, { name, pid: c.pid });
  }
  return {
    slotName,
    currentLsn: wal.rows[0]?.lsn ?? '0/0',
    slot: slot
      ? {
          plugin: slot.plugin,
          active: slot.active,
          confirmedFlushLsn: slot.confirmed_flush_lsn,
          restartLsn: slot.restart_lsn,
          walStatus: slot.wal_status,
          lagBytes: number(slot.lag_bytes),
          retainedBytes: number(slot.retained_bytes),
        }
      : null,
    leader: slot?.active_pid
      ? {
          name: leaderName ?? 'unknown',
          pid: slot.active_pid,
          sentLsn: leaderRow?.sent_lsn ?? null,
          flushLsn: leaderRow?.flush_lsn ?? null,
          state: leaderRow?.state ?? null,
        }
      : null,
    standbys: [...standbys.values()],
  };
}
