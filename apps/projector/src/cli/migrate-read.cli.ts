/**
 * `npm run db:migrate:read`: applies every registered context's read-model migrations
 * (PROJECTOR_CONTEXTS, in order) to the read database. Idempotent; exits non-zero with a
 * readable reason when the database is unreachable.
 */
import { migrateReadModels } from '@cqrs/projection';
import { Command, Option } from 'commander';
import { PROJECTOR_CONTEXTS } from '../contexts';

const LOCAL_DEFAULT = 'postgres://cqrs_owner:cqrs@127.0.0.1:5433/cqrs_read';

const redact = (url: string) => {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable database URL>';
  }
};

const program = new Command()
  .name('db:migrate:read')
  .description('Apply pending read-model migrations (run as the owner role, never the app role).')
  .addOption(
    new Option('--url <url>', 'owner connection string of the read database')
      .env('MIGRATIONS_READ_DATABASE_URL')
      .default(LOCAL_DEFAULT),
  )
  .addOption(
    new Option('--connect-timeout <ms>', 'give up connecting after this long').default(10_000).argParser(Number),
  )
  .action(async (options: { url: string; connectTimeout: number }) => {
    try {
      const applied = await migrateReadModels(
        options.url,
        PROJECTOR_CONTEXTS.map((c) => c.readModel),
        { connectTimeoutMs: options.connectTimeout },
      );
      if (applied.length === 0) console.log(`read models are up to date (${redact(options.url)})`);
      for (const name of applied) console.log(`applied ${name}`);
    } catch (error) {
      const e = error as { code?: string; message?: string };
      const hint =
        e.code === 'ECONNREFUSED'
          ? ' (is PostgreSQL running? bash tools/local-stack/stack.sh up)'
          : e.code === '42501'
            ? ' (run as the owner role)'
            : '';
      console.error(`db:migrate:read failed on ${redact(options.url)}: ${e.message ?? String(error)}${hint}`);
      process.exitCode = 1;
    }
  });

void program.parseAsync();
