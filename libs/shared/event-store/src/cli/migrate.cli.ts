/**
 * `npm run db:migrate`: applies the event store's migrations to the write database.
 * Idempotent; exits non-zero with a readable reason when the database is unreachable.
 */
import { Command, Option } from 'commander';
import { describeDatabaseError, migrateEventStore, redactUrl } from '../lib/migrate';

const LOCAL_DEFAULT = 'postgres://cqrs_owner:cqrs@127.0.0.1:5433/cqrs_write';

const program = new Command()
  .name('db:migrate')
  .description('Apply pending event-store migrations (run as the owner role, never the app role).')
  .addOption(
    new Option('--url <url>', 'owner connection string of the write database')
      .env('MIGRATIONS_WRITE_DATABASE_URL')
      .default(LOCAL_DEFAULT),
  )
  .addOption(
    new Option('--connect-timeout <ms>', 'give up connecting after this long').default(10_000).argParser(Number),
  )
  .action(async (options: { url: string; connectTimeout: number }) => {
    try {
      const applied = await migrateEventStore(options.url, { connectTimeoutMs: options.connectTimeout });
      if (applied.length === 0) console.log(`event store schema is up to date (${redactUrl(options.url)})`);
      for (const name of applied) console.log(`applied ${name}`);
    } catch (error) {
      console.error(`db:migrate failed: ${describeDatabaseError(error, options.url)}`);
      process.exitCode = 1;
    }
  });

void program.parseAsync();
