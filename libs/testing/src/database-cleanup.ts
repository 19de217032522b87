// Dropping test databases and what tests leave on the server. Imports nothing but `pg`, so
// tools/scripts/clean-test-leftovers.ts can load this file directly with Node's type stripping
// (which resolves no extension-less relative import): the pg helpers of @cqrs/testing live here too.
import { Client } from 'pg';

/**
 * Name prefixes of the throwaway databases tests create (`<prefix>_<8-12 hex digits>`). The
 * pre-flight of `npm test` removes leftovers of interrupted runs by these names only;
 * database-cleanup.spec.ts fails when a test uses a prefix that is missing here. Benchmarks'
 * databases (`bench_*`) are deliberately absent: a benchmark may be running beside the tests.
 */
export const TEST_DATABASE_PREFIXES = [
  // @cqrs/testing createThrowawayDatabase
  'obs_write',
  'obs_read', // apps/system-e2e/src/support/system.ts (relay slot obs_<run>)
  'sys_write', // apps/query-service/e2e/system.e2e.spec.ts (relay slot sys_<run>)
  'readme_write',
  'readme_read', // apps/system-e2e/src/readme.e2e.spec.ts (relay slot readme_<run>)
  'cmd_http', // apps/command-service/src/tasks/tasks.int.spec.ts
  'smoke_repl',
  'smoke_dbz', // libs/testing/src/smoke (slots smoke_slot, slot_<suffix>)
  'drop_test',
  'cleanup_probe', // libs/testing/src/database-cleanup.int.spec.ts
  // @cqrs/event-store/testing (default prefix; also event-store.bench, whose open pool keeps it safe)
  'es_test',
  // @cqrs/tasks-read-model/testing (default rm_test)
  'rm_test',
  'proj_test',
  'qs_test',
  'e2e_read',
  'sys_read',
  'proj_hostile', // apps/projector/src/projection/hostile-records.int.spec.ts
  'recon_write',
  'recon_read', // apps/projector/src/reconcile/reconcile.int.spec.ts
  'qs_limits', // apps/query-service/src/tasks/read-timeouts.int.spec.ts
  // apps/outbox-relay/src/testing/outbox-test-db.ts (relay and Debezium slots of the relay tests)
  'relay_int',
  'relay_parity',
  'relay_acl',
  'relay_faults',
  // libs/shared/event-store/src/lib/grants.int.spec.ts, libs/tasks/read-model/src/lib/grants.int.spec.ts
  'grants_write',
  'grants_read',
  'stream_proj', // libs/shared/projection/src/lib/stream-projection.int.spec.ts
  'projects_rm', // libs/projects/read-model/src/lib/projects-read-model.int.spec.ts
] as const;

/** Never dropped by the cleanup, whatever a prefix list says. */
const PROTECTED_DATABASE = /^(postgres|cqrs_write|cqrs_read|template.*)$/;

/** True for `<prefix>_<8-12 hex>` with one of `prefixes`, never for the stack's own databases. */
export function isTestDatabase(name: string, prefixes: readonly string[] = TEST_DATABASE_PREFIXES): boolean {
  if (PROTECTED_DATABASE.test(name)) return false;
  return prefixes.some((prefix) => {
    if (!/^[a-z][a-z0-9_]*$/.test(prefix)) throw new Error(`invalid test database prefix ${JSON.stringify(prefix)}`);
    return new RegExp(`^${prefix}_[0-9a-f]{8,12}$`).test(name);
  });
}

/**
 * Drops database `name` and the replication slots on it, or throws saying what is left.
 * An inactive slot pins WAL for the whole server until it is dropped, and an active one (a relay
 * or Debezium still streaming) makes DROP DATABASE fail even WITH (FORCE). So: no new connections,
 * end whatever streams from a slot of this database, drop its slots, then the database, retrying
 * briefly for a walsender that is still on its way out. A missing database is not an error.
 */
export async function dropDatabase(adminUrl: string, name: string, options: { attempts?: number } = {}): Promise<void> {
  const attempts = options.attempts ?? 5;
  const database = quoteIdent(name);
  await withClient(adminUrl, async (admin) => {
    if ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 0) return;
    for (let attempt = 1; ; attempt++) {
      try {
        // A relay that is still running would take its slot again as soon as its walsender ends.
        await admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS false`);
        // Waits up to 5 s for each walsender to exit, which releases its slot.
        await admin.query(
          'SELECT pg_terminate_backend(active_pid, 5000) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL',
          [name],
        );
        await admin.query(
          'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active',
          [name],
        );
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        return;
      } catch (error) {
        if (attempt < attempts) {
          await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
          continue;
        }
        const slots = await admin
          .query<{ slot_name: string; active_pid: number | null }>(
            'SELECT slot_name, active_pid FROM pg_replication_slots WHERE database = $1',
            [name],
          )
          .then((r) =>
            r.rows.map((s) => (s.active_pid ? `${s.slot_name} (streaming to pid ${s.active_pid})` : s.slot_name)),
          )
          .catch(() => []);
        throw new Error(
          `could not drop test database ${name} (${attempts} attempts): ${(error as Error).message}` +
            (slots.length
              ? `; replication slots still on it, each pinning WAL for the whole server: ${slots.join(', ')}`
              : '') +
            '. Remove it by hand or with `node tools/scripts/clean-test-leftovers.ts`.',
          { cause: error },
        );
      }
    }
  });
}

export interface TestDatabaseState {
  name: string;
  ageMinutes: number;
  /** Sessions connected to it (walsenders included). */
  sessions: number;
  slots: { name: string; active: boolean; retainedWalBytes: number }[];
}

export interface CleanupReport {
  removed: TestDatabaseState[];
  /** Test databases left alone because a test may still be using them. */
  kept: (TestDatabaseState & { reason: string })[];
  failed: (TestDatabaseState & { error: string })[];
  /** Inactive slots on databases that are not test databases: reported, never dropped. */
  otherInactiveSlots: { name: string; database: string | null; retainedWalBytes: number }[];
}

/**
 * Removes what interrupted test runs left: test databases (see `isTestDatabase`) and their slots.
 * A database with a session, a streaming slot, or younger than `minAgeMs` (default 10 minutes)
 * may belong to a test that is running now, so it is kept and reported instead.
 */
export async function cleanTestLeftovers(
  adminUrl: string,
  options: { prefixes?: readonly string[]; minAgeMs?: number; dryRun?: boolean } = {},
): Promise<CleanupReport> {
  const minAgeMinutes = (options.minAgeMs ?? 10 * 60_000) / 60_000;
  const report: CleanupReport = { removed: [], kept: [], failed: [], otherInactiveSlots: [] };
  const { databases, slots } = await withClient(adminUrl, async (admin) => ({
    // A database's PG_VERSION file is written when it is created (needs a superuser, as the admin URL is).
    databases: (
      await admin.query<TestDatabaseState>(
        `SELECT d.datname AS name,
                extract(epoch FROM now() - (pg_stat_file('base/' || d.oid || '/PG_VERSION')).modification)::float8 / 60 AS "ageMinutes",
                (SELECT count(*)::int FROM pg_stat_activity a WHERE a.datid = d.oid) AS sessions,
                coalesce((SELECT json_agg(json_build_object('name', s.slot_name, 'active', s.active,
                                          'retainedWalBytes', coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn), 0)) ORDER BY s.slot_name)
                          FROM pg_replication_slots s WHERE s.datoid = d.oid), '[]') AS slots
           FROM pg_database d ORDER BY d.datname`,
      )
    ).rows.filter((d) => isTestDatabase(d.name, options.prefixes)),
    slots: (
      await admin.query<{ name: string; database: string | null; retainedWalBytes: string }>(
        `SELECT slot_name AS name, database, coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::text AS "retainedWalBytes"
           FROM pg_replication_slots WHERE NOT active ORDER BY slot_name`,
      )
    ).rows,
  }));
  report.otherInactiveSlots = slots
    .filter((s) => s.database === null || !isTestDatabase(s.database, options.prefixes))
    .map((s) => ({ ...s, retainedWalBytes: Number(s.retainedWalBytes) }));
  for (const db of databases) {
    const reason =
      db.sessions > 0
        ? `${db.sessions} open session(s)`
        : db.slots.some((s) => s.active)
          ? 'a slot on it is streaming'
          : db.ageMinutes < minAgeMinutes
            ? `created ${db.ageMinutes.toFixed(1)} min ago (a test may still be using it)`
            : undefined;
    if (reason) {
      report.kept.push({ ...db, reason });
      continue;
    }
    try {
      if (!options.dryRun) await dropDatabase(adminUrl, db.name, { attempts: 3 });
      report.removed.push(db);
    } catch (error) {
      report.failed.push({ ...db, error: (error as Error).message });
    }
  }
  return report;
}

/** Runs `work` on a short-lived pg client to `url`, closing it afterwards. */
export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  // A server going away mid-call must fail the call, not crash the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A SQL identifier, double-quoted. */
export function quoteIdent(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
