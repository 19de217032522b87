// Pre-flight of `npm test` (tools/scripts/test.sh): removes what interrupted test runs left on
// PostgreSQL. Throwaway databases named <prefix>_<hex>, prefixes in TEST_DATABASE_PREFIXES
// (libs/testing/src/database-cleanup.ts), are dropped with the replication slots on them, which
// pin WAL for the whole server until dropped. One with a session, a streaming slot, or younger
// than CQRS_LEFTOVER_MIN_AGE_MINUTES (10) may be a running test's, and is only reported. Nothing
// else is touched: not cqrs_write/cqrs_read/postgres/template*, not the slots of `npm start`'s relay
// (cqrs_outbox_relay) or Debezium (cqrs_outbox_debezium), not benchmarks' bench_* databases.
// Exits 1 if a leftover could not be removed.
//
// Run with Node 24 (type stripping): node tools/scripts/clean-test-leftovers.ts [--dry-run]
// DATABASE_ADMIN_URL comes from the environment (test.sh exports it), else from .local-stack/env.
import { existsSync } from 'node:fs';
import { cleanTestLeftovers, type TestDatabaseState } from '../../libs/testing/src/database-cleanup.ts';
import { parseEnvFile } from '../../libs/testing/src/infra-settings.ts';

const dryRun = process.argv.includes('--dry-run');
const envFile = new URL('../../.local-stack/env', import.meta.url);
const adminUrl =
  process.env['DATABASE_ADMIN_URL'] ??
  (existsSync(envFile) ? parseEnvFile(envFile.pathname)['DATABASE_ADMIN_URL'] : undefined);
if (!adminUrl) {
  console.error(
    'clean-test-leftovers: set DATABASE_ADMIN_URL (a superuser URL), or start the native stack (.local-stack/env)',
  );
  process.exit(2);
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const describe = (db: TestDatabaseState) =>
  `${db.name} (${db.ageMinutes.toFixed(0)} min old` +
  (db.slots.length
    ? `; slots ${db.slots.map((s) => `${s.name} retaining ${mb(s.retainedWalBytes)} of WAL`).join(', ')})`
    : ')');

const report = await cleanTestLeftovers(adminUrl, {
  minAgeMs: Number(process.env['CQRS_LEFTOVER_MIN_AGE_MINUTES'] ?? 10) * 60_000,
  dryRun,
});
for (const db of report.removed) console.log(`    ${dryRun ? 'would remove' : 'removed'} ${describe(db)}`);
for (const db of report.kept) console.log(`    kept ${describe(db)}: ${db.reason}`);
for (const db of report.failed) console.error(`    FAILED to remove ${describe(db)}: ${db.error}`);
for (const slot of report.otherInactiveSlots) {
  console.log(
    `    note: inactive slot ${slot.name} on ${slot.database ?? '(no database)'} retains ${mb(slot.retainedWalBytes)} of WAL (not a test's: left alone)`,
  );
}
if (!report.removed.length && !report.kept.length && !report.failed.length)
  console.log('    no leftovers of earlier test runs');
process.exit(report.failed.length ? 1 : 0);
