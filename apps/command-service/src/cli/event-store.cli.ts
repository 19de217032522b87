/**
 * `npm run event-store -- <command>`: upkeep of the write database's event store for tasks:
 * snapshot statistics, pruning and "snapshot now", archiving of finished tasks, table sizes.
 * Configured like the command service (DATABASE_URL, the command role; MANAGEMENT_PORT for its
 * metrics); `archive` runs as the owner role (MIGRATIONS_WRITE_DATABASE_URL), the only one that
 * may move events. Exits 1 with a readable message on a bad argument or a failure, 2 on bad config.
 */
import { ConfigError, env, loadConfig } from '@cqrs/config';
import {
  createEventStoreDataSource,
  DEFAULT_SNAPSHOT_KEEP,
  DEFAULT_SNAPSHOT_MAX_AGE_MS,
  describeDatabaseError,
  PostgresEventStore,
  redactUrl,
} from '@cqrs/event-store';
import { STATE_SCHEMA_VERSION, TASK_TERMINAL_EVENT_TYPES, taskDecider, taskUpcasters } from '@cqrs/tasks-domain';
import { Command, Option } from 'commander';
import { TASK_STREAM_TYPE } from '../tasks/task-command.executor';
import { formatAge, formatBytes, formatDurationMs, parseDuration, parsePositiveInt, table } from '@cqrs/util/cli';
import { describeLoadHitRate, fetchLoadHitRate } from './cli-format';

const loadCliConfig = (source: NodeJS.ProcessEnv = process.env) =>
  loadConfig(
    'event-store CLI',
    {
      // The command service's variables and defaults (its config.ts). Unset, DATABASE_URL falls
      // back to WRITE_DATABASE_URL, the command role's URL in .local-stack/env (with its TLS settings).
      DATABASE_URL: env.url(source['WRITE_DATABASE_URL'] || 'postgres://cqrs_command:cqrs@127.0.0.1:5433/cqrs_write'),
      MIGRATIONS_WRITE_DATABASE_URL: env.url('postgres://cqrs_owner:cqrs@127.0.0.1:5433/cqrs_write'),
      MANAGEMENT_PORT: env.port(9000),
    },
    source,
  );
type CliConfig = ReturnType<typeof loadCliConfig>;

const INSUFFICIENT_PRIVILEGE = '42501';

/** A failure to report as its message only (no stack). */
class CliError extends Error {}

async function withStore<T>(url: string, work: (store: PostgresEventStore) => Promise<T>): Promise<T> {
  const dataSource = createEventStoreDataSource({ url, poolSize: 2, applicationName: 'event-store-cli' });
  try {
    await dataSource.initialize();
  } catch (error) {
    throw new CliError(describeDatabaseError(error, url));
  }
  try {
    // Appends are not this CLI's business; reads and snapshots fold task events of every shape.
    return await work(new PostgresEventStore(dataSource, { upcasters: taskUpcasters, appendsInFlight: 0 }));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === INSUFFICIENT_PRIVILEGE) {
      throw new CliError(
        `the role of ${redactUrl(url)} may not do this (${(error as Error).message}); archive runs as the owner role (MIGRATIONS_WRITE_DATABASE_URL)`,
      );
    }
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) throw new CliError(describeDatabaseError(error, url));
    throw error;
  } finally {
    await dataSource.destroy().catch(() => undefined);
  }
}

const print = (json: boolean, value: unknown, human: () => string) =>
  console.log(json ? JSON.stringify(value, null, 2) : human());

export function program(config: () => CliConfig): Command {
  const cli = new Command('event-store')
    .description('Upkeep of the event store (write database): snapshots, archiving, sizes.')
    .showHelpAfterError()
    .exitOverride();

  const snapshots = cli
    .command('snapshots')
    .description('snapshots of task streams: statistics, pruning, snapshot now');
  snapshots
    .command('stats')
    .description('count, streams, bytes and ages of snapshots per state schema version, and the load hit rate')
    .option('--json', 'machine-readable output')
    .option(
      '--metrics-url <url>',
      "the command service's Prometheus endpoint (default: its management port's /metrics)",
    )
    .action(async (options: { json?: boolean; metricsUrl?: string }) => {
      const settings = config();
      const metricsUrl = options.metricsUrl ?? `http://127.0.0.1:${settings.MANAGEMENT_PORT}/metrics`;
      const [stats, loads] = await Promise.all([
        withStore(settings.DATABASE_URL, (store) => store.snapshotStats()),
        fetchLoadHitRate(metricsUrl),
      ]);
      print(!!options.json, { ...stats, loads }, () =>
        [
          `snapshots: ${stats.snapshots} of ${stats.streams} streams, ${formatBytes(stats.stateBytes)} of state (table and indexes: ${formatBytes(stats.tableBytes)})`,
          `oldest written ${formatAge(stats.oldestAgeSeconds)} ago, newest ${formatAge(stats.newestAgeSeconds)} ago`,
          '',
          table(
            stats.byStateSchemaVersion.map((s) => ({
              'state schema version': s.stateSchemaVersion,
              snapshots: s.snapshots,
              streams: s.streams,
              state: formatBytes(s.stateBytes),
              oldest: formatAge(s.oldestAgeSeconds),
              newest: formatAge(s.newestAgeSeconds),
            })),
          ),
          '',
          describeLoadHitRate(loads),
        ].join('\n'),
      );
    });

  snapshots
    .command('prune')
    .description(
      'keep the newest --keep snapshots per stream and state schema version, drop those older than --max-age (never a stream’s newest)',
    )
    .addOption(
      new Option('--keep <n>', 'snapshots kept per stream and state schema version')
        .argParser(parsePositiveInt)
        .default(DEFAULT_SNAPSHOT_KEEP),
    )
    .addOption(
      new Option('--max-age <duration>', 'drop snapshots older than this (e.g. 90d, 12h)')
        .argParser(parseDuration)
        .default(DEFAULT_SNAPSHOT_MAX_AGE_MS, formatDurationMs(DEFAULT_SNAPSHOT_MAX_AGE_MS)),
    )
    .option('--dry-run', 'count what would be deleted, delete nothing')
    .option('--json', 'machine-readable output')
    .action(async (options: { keep: number; maxAge: number; dryRun?: boolean; json?: boolean }) => {
      const result = await withStore(config().DATABASE_URL, (store) =>
        store.pruneSnapshots({ keep: options.keep, maxAgeMs: options.maxAge, dryRun: !!options.dryRun }),
      );
      print(
        !!options.json,
        result,
        () =>
          `${result.dryRun ? 'would prune' : 'pruned'} ${result.deleted} of ${result.snapshots} snapshots of ${result.streams} streams ` +
          `(${result.beyondKeep} beyond the newest ${options.keep}, ${result.expired} older than ${formatDurationMs(options.maxAge)})`,
      );
    });

  snapshots
    .command('take <streamId>')
    .description(
      'fold a task stream from its events (upcast, not from a snapshot) and snapshot it at its current version',
    )
    .option('--json', 'machine-readable output')
    .action(async (streamId: string, options: { json?: boolean }) => {
      const result = await withStore(config().DATABASE_URL, (store) =>
        store.takeSnapshot(streamId, {
          evolve: taskDecider.evolve,
          initialState: taskDecider.initialState,
          stateSchemaVersion: STATE_SCHEMA_VERSION,
        }),
      );
      print(!!options.json, result, () =>
        result.version === 0
          ? `stream ${streamId} has no events: no snapshot`
          : `snapshot of ${streamId} at version ${result.version} (state schema version ${result.stateSchemaVersion}) ${result.written ? 'written' : 'already existed'}`,
      );
      if (result.version === 0) process.exitCode = 1;
    });

  cli
    .command('archive')
    .description(
      `move finished tasks (last event ${TASK_TERMINAL_EVENT_TYPES.join(', ')}) older than --older-than to events_archive, as the owner role`,
    )
    .addOption(
      new Option('--older-than <duration>', 'archive tasks whose last event is older than this (e.g. 30d)')
        .argParser(parseDuration)
        .default(30 * 86_400_000, '30d'),
    )
    .addOption(new Option('--batch <n>', 'streams per transaction').argParser(parsePositiveInt).default(1000))
    .option('--dry-run', 'count what would move, move nothing')
    .option('--json', 'machine-readable output')
    .action(async (options: { olderThan: number; batch: number; dryRun?: boolean; json?: boolean }) => {
      const result = await withStore(config().MIGRATIONS_WRITE_DATABASE_URL, (store) =>
        store.archiveStreams({
          olderThanMs: options.olderThan,
          terminalEventTypes: TASK_TERMINAL_EVENT_TYPES,
          streamType: TASK_STREAM_TYPE,
          batchSize: options.batch,
          dryRun: !!options.dryRun,
        }),
      );
      print(
        !!options.json,
        result,
        () =>
          `${result.dryRun ? 'would archive' : 'archived'} ${result.streams} task streams (${result.events} events) finished more than ${formatDurationMs(options.olderThan)} ago, in ${result.batches} batch(es)`,
      );
    });

  cli
    .command('size')
    .description('sizes of events, events_archive and snapshots (with indexes), row estimates, archived streams')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const size = await withStore(config().DATABASE_URL, (store) => store.size());
      const row = (name: string, t: { bytes: number; rowsEstimate: number | null }) => ({
        table: name,
        size: formatBytes(t.bytes),
        'rows (estimate)': t.rowsEstimate === null ? 'not analysed yet' : Math.round(t.rowsEstimate),
      });
      print(!!options.json, size, () =>
        [
          table([
            row('events', size.events),
            row('events_archive', size.eventsArchive),
            row('snapshots', size.snapshots),
          ]),
          '',
          `archived streams: ${size.archivedStreams}`,
        ].join('\n'),
      );
    });

  return cli;
}

async function main(): Promise<void> {
  let config: CliConfig | undefined;
  const lazyConfig = () => (config ??= loadCliConfig());
  try {
    await program(lazyConfig).parseAsync(process.argv);
  } catch (error) {
    // Commander has printed its own message (and the help) for a bad argument; --help and --version exit 0.
    const commander = error as { code?: string; exitCode?: number };
    if (typeof commander.code === 'string' && commander.code.startsWith('commander.'))
      process.exit(commander.exitCode ?? 1);
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    const known = error instanceof CliError || error instanceof RangeError;
    console.error(`error: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}`);
    process.exit(1);
  }
}

if (require.main === module) void main();
