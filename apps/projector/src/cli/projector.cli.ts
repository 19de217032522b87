import { ConfigError } from '@cqrs/config';
import { AvroSerde, createSchemaRegistry } from '@cqrs/messaging';
import { createKafka, DeadLetterPublisher, type ConsumerLogger } from '@cqrs/messaging/consumer';
import { tasksTaskEventsContracts } from '@cqrs/tasks-contracts';
import { migrateReadModels, ProjectionControls, resetStreamProjection, ResetRefusedError } from '@cqrs/projection';
import { userInfo } from 'node:os';
import type { RebuildSource } from '@cqrs/tasks-read-model';
import { parseNonNegativeInt, parsePositiveInt, table } from '@cqrs/util/cli';
import { Command, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { Pool } from 'pg';
import { PROJECTOR_CONTEXTS } from '../contexts';
import { loadProjectorConfig, projectionSettings, type ProjectorConfig } from '../config';
import { OperationError, ProjectorOperations, type ProjectorStatus } from '../projection/projector-operations';
import { TaskRecordDecoder } from '../projection/task-record.decoder';
import { reconcileWithConfig } from '../reconcile/reconcile-command';
import { describeReport } from '../reconcile/report';

// The projector's operations as a CLI (`npm run projector -- <command>`): it talks to the same
// Kafka, registry and read database as the running projector, configured by the same variables.

const stderrLogger: ConsumerLogger = {
  info: () => undefined,
  warn: (details, message) => process.stderr.write(`warn: ${message} ${JSON.stringify(details)}\n`),
  error: (details, message) => process.stderr.write(`error: ${message} ${JSON.stringify(details)}\n`),
};

interface Session {
  operations: ProjectorOperations;
  close(): Promise<void>;
}

async function open(config: ProjectorConfig, options: { owner?: boolean } = {}): Promise<Session> {
  const pool = new Pool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_SIZE,
    application_name: 'projector-cli',
  });
  const ownerPool = options.owner
    ? new Pool({ connectionString: config.MIGRATIONS_READ_DATABASE_URL, max: 2, application_name: 'projector-cli' })
    : undefined;
  const kafka = createKafka({
    clientId: 'projector-cli',
    brokers: config.KAFKA_BROKERS,
    security: config.kafkaSecurity,
    logger: stderrLogger,
  });
  const admin = kafka.admin();
  const dlq = new DeadLetterPublisher(kafka);
  await Promise.all([admin.connect(), dlq.connect()]);
  const decoder = new TaskRecordDecoder(
    new AvroSerde({ registry: createSchemaRegistry(config.schemaRegistry), contracts: tasksTaskEventsContracts }),
  );
  const operations = new ProjectorOperations(
    { pool, kafka, decoder, dlq, logger: stderrLogger },
    projectionSettings(config),
    admin,
    ownerPool,
  );
  return {
    operations,
    close: async () => {
      await Promise.allSettled([admin.disconnect(), dlq.disconnect(), pool.end(), ownerPool?.end()]);
    },
  };
}

const print = (json: boolean, value: unknown, human: () => string) =>
  console.log(json ? JSON.stringify(value, null, 2) : human());

function describeStatus(s: ProjectorStatus): string {
  return [
    `active generation ${s.activeGeneration} (consumer group ${s.groupId}, ${s.members} member(s)); total lag ${s.totalLag}`,
    '',
    table(
      s.partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        committed: p.committedOffset,
        end: p.highWatermark,
        lag: p.lag,
        'last applied': p.lastAppliedOffset,
        'applied at': p.appliedAt,
      })),
    ),
    '',
    `parked aggregates: ${s.parked.length}`,
    ...(s.parked.length > 0
      ? [
          table(
            s.parked.map((p) => ({
              stream: p.streamId,
              events: p.count,
              head: `#${p.headId}`,
              reason: p.reason,
              code: p.errorCode,
              since: p.since,
            })),
          ),
        ]
      : []),
    '',
    table(
      s.generations.map((g) => ({
        generation: g.generation,
        status: g.status,
        created: g.createdAt,
        activated: g.activatedAt,
      })),
    ),
  ].join('\n');
}

function program(config: () => ProjectorConfig): Command {
  const cli = new Command('projector').description(
    'Operate the tasks projector: status, dead letters, rebuilds, migrations.',
  );
  cli.showHelpAfterError();

  cli
    .command('migrate')
    .description('apply pending read-model migrations (as MIGRATIONS_READ_DATABASE_URL, the owner role)')
    .action(async () => {
      const applied = await migrateReadModels(
        config().MIGRATIONS_READ_DATABASE_URL,
        PROJECTOR_CONTEXTS.map((c) => c.readModel),
      );
      console.log(applied.length === 0 ? 'read models: up to date' : `read models: applied ${applied.join(', ')}`);
    });

  cli
    .command('reset <projection>')
    .description(
      "rebuild a stream projection (another context's) from its topics: stop the projectors first; it empties its tables and replays from offset 0",
    )
    .action(async (name: string) => {
      const c = config();
      const streams = PROJECTOR_CONTEXTS.flatMap((context) => context.streamProjections?.(c) ?? []);
      const found = streams.find((s) => s.definition.name === name);
      if (!found)
        throw new OperationError(
          `no stream projection "${name}"; known: ${streams.map((s) => s.definition.name).join(', ') || 'none'} (tasks rebuilds with \`rebuild\`)`,
        );
      const pool = new Pool({ connectionString: c.DATABASE_URL, max: 2, application_name: 'projector-cli' });
      const admin = createKafka({
        clientId: 'projector-cli',
        brokers: c.KAFKA_BROKERS,
        security: c.kafkaSecurity,
        logger: stderrLogger,
      }).admin();
      try {
        await admin.connect();
        const { tables } = await resetStreamProjection({ ...found, pool, admin }).catch((error: unknown) => {
          throw error instanceof ResetRefusedError ? new OperationError(error.message) : error;
        });
        console.log(
          `${name}: emptied ${tables.join(', ')} and reset ${found.groupId} to the earliest offsets; start the projector to replay`,
        );
      } finally {
        await Promise.allSettled([admin.disconnect(), pool.end()]);
      }
    });

  for (const [command, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    cli
      .command(`${command} <projection>`)
      .description(
        paused
          ? 'pause a projection on every projector instance (each stops its consumer between batches on its next check)'
          : 'resume a paused projection on every projector instance (each starts its consumer again and catches up)',
      )
      .option('--json', 'machine-readable output')
      .action(async (name: string, options: { json?: boolean }) => {
        const c = config();
        const known = PROJECTOR_CONTEXTS.flatMap((context) => [
          ...(context.name === 'tasks' ? ['tasks'] : []),
          ...(context.streamProjections?.(c) ?? []).map((s) => s.definition.name),
        ]);
        if (!known.includes(name))
          throw new OperationError(`no projection "${name}"; known: ${known.join(', ')}`, { kind: 'not_found' });
        const pool = new Pool({ connectionString: c.DATABASE_URL, max: 1, application_name: 'projector-cli' });
        try {
          const control = await new ProjectionControls(pool).setPaused(name, paused, `cli:${userInfo().username}`);
          print(
            !!options.json,
            control,
            () =>
              `${name}: ${paused ? 'paused' : 'resumed'} (every instance follows within PROJECTOR_GENERATION_CHECK_MS)`,
          );
        } finally {
          await pool.end();
        }
      });
  }

  cli
    .command('status')
    .description('per-partition lag and last applied position, parked aggregates, generations')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const session = await open(config());
      try {
        const status = await session.operations.status();
        print(!!options.json, status, () => describeStatus(status));
      } finally {
        await session.close();
      }
    });

  const dlq = cli
    .command('dlq')
    .description('the dead-letter queue: records parked instead of applied (also on <topic>.dlq)');
  dlq
    .command('list')
    .description('parked records, oldest first')
    .option('--stream <id>', 'only this aggregate')
    .option('--limit <n>', 'at most n records', parsePositiveInt, 100)
    .option('--json', 'machine-readable output')
    .action(async (options: { stream?: string; limit: number; json?: boolean }) => {
      const session = await open(config());
      try {
        const records = await session.operations.listDeadLetters({ streamId: options.stream, limit: options.limit });
        print(!!options.json, records, () =>
          table(
            records.map((r) => ({
              id: `#${r.id}`,
              stream: r.streamId,
              version: r.aggregateVersion,
              type: r.eventType,
              source: `${r.sourceTopic}/${r.sourcePartition}@${r.sourceOffset}`,
              reason: r.reason,
              code: r.errorCode,
              attempts: r.attempts,
              'first failure': r.firstFailedAt,
            })),
          ),
        );
      } finally {
        await session.close();
      }
    });

  dlq
    .command('show <id>')
    .description('one parked record: error, headers, key and value (base64)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: { json?: boolean }) => {
      const session = await open(config());
      try {
        const r = await session.operations.showDeadLetter(parsePositiveInt(id));
        const shown = { ...r, key: r.key?.toString('utf8') ?? null, value: r.value?.toString('base64') ?? null };
        print(!!options.json, shown, () =>
          Object.entries(shown)
            .map(
              ([k, v]) =>
                `${k.padEnd(16)} ${typeof v === 'object' && v !== null && !(v instanceof Date) ? JSON.stringify(v) : v instanceof Date ? v.toISOString() : String(v)}`,
            )
            .join('\n'),
        );
      } finally {
        await session.close();
      }
    });

  dlq
    .command('redrive [id]')
    .description('apply a parked record and the ones behind it in its stream, in order (or --all streams)')
    .option('--all', 'every parked stream, in the order they were parked')
    .option('--value-file <path>', 'replace the record’s value with these bytes (a corrected event), one id only')
    .option('--json', 'machine-readable output')
    .action(async (id: string | undefined, options: { all?: boolean; valueFile?: string; json?: boolean }) => {
      if (!!id === !!options.all) throw new OperationError('give a record id or --all');
      if (options.valueFile && !id) throw new OperationError('--value-file needs a record id');
      const session = await open(config());
      try {
        const results = id
          ? [
              await session.operations.redriveOne(
                parsePositiveInt(id),
                options.valueFile ? readFileSync(options.valueFile) : undefined,
              ),
            ]
          : await session.operations.redriveAll();
        print(!!options.json, results, () =>
          table(
            results.map((r) => ({
              stream: r.streamId,
              released: r.released,
              'still parked': r.stillParked,
              error: r.error ? `${r.error.code}: ${r.error.message}` : '',
            })),
          ),
        );
        if (results.some((r) => r.stillParked > 0)) process.exitCode = 1;
      } finally {
        await session.close();
      }
    });

  dlq
    .command('discard <id>')
    .description(
      'discard a parked record for good (the first of its stream only); the records behind it stay parked until redriven or discarded',
    )
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: { json?: boolean }) => {
      const session = await open(config());
      try {
        const result = await session.operations.discardDeadLetter(parsePositiveInt(id));
        print(
          !!options.json,
          result,
          () =>
            `discarded #${result.id} (stream ${result.streamId ?? 'none'}); ${result.stillParked} of its records still parked`,
        );
      } finally {
        await session.close();
      }
    });

  cli
    .command('rebuild')
    .description(
      'rebuild the projection into fresh tables, from the event store (then Kafka from the offsets noted before it) or from the beginning of the topic; queries switch when it has caught up',
    )
    .option(
      '--source <source>',
      'where history comes from: store (the event store, then Kafka) or kafka (the topic from offset 0)',
      (value: string): RebuildSource => {
        if (value !== 'store' && value !== 'kafka') throw new InvalidArgumentError('store or kafka');
        return value;
      },
      'store' as RebuildSource,
    )
    .option('--resume', 'continue the interrupted store rebuild (same generation, from its recorded store position)')
    .option('--max-lag <n>', 'switch once at most n records are left to apply', parseNonNegativeInt, 100)
    .option(
      '--handoff-timeout <ms>',
      'keep applying until a projector joins the new group, at most this long',
      parseNonNegativeInt,
      30_000,
    )
    .option('--keep <n>', 'retired generations to keep (older ones are dropped)', parseNonNegativeInt, 1)
    .option('--batch-size <n>', 'events per event-store query', parsePositiveInt)
    .option('--json', 'machine-readable output')
    .action(
      async (options: {
        source: RebuildSource;
        resume?: boolean;
        maxLag: number;
        handoffTimeout: number;
        keep: number;
        batchSize?: number;
        json?: boolean;
      }) => {
        const session = await open(config(), { owner: true });
        const eventStore =
          options.source === 'store' || options.resume
            ? new Pool({
                connectionString: config().EVENT_STORE_DATABASE_URL,
                max: 4,
                application_name: 'projector-cli-rebuild',
              })
            : undefined;
        const abort = new AbortController();
        process.once('SIGINT', () => abort.abort());
        const count = (n: number) => n.toLocaleString('en-US');
        let progressShown = false;
        try {
          const report = await session.operations.rebuild({
            source: options.source,
            resume: options.resume,
            eventStore,
            store: { batchSize: options.batchSize },
            maxLag: options.maxLag,
            handoffTimeoutMs: options.handoffTimeout,
            keep: options.keep,
            signal: abort.signal,
            onProgress: options.json
              ? undefined
              : (p) => {
                  // One line, rewritten in place: phase, events done/expected, rate, ETA, elapsed.
                  progressShown = true;
                  process.stderr.write(
                    `\r\x1b[Kgeneration ${p.generation} (${p.source}): ${p.phase}, ${count(p.eventsDone)}${p.eventsExpected === null ? '' : `/${count(p.eventsExpected)}`} events, ` +
                      `${count(p.eventsPerSecond)}/s${p.etaMs === null ? '' : `, ETA ${Math.ceil(p.etaMs / 1000)} s`}${p.phase === 'reading-store' ? '' : `, lag ${count(p.lag)}`}, ${Math.round(p.elapsedMs / 1000)} s`,
                  );
                },
          });
          if (progressShown) process.stderr.write('\n');
          progressShown = false;
          print(!!options.json, report, () =>
            [
              `generation ${report.generation} is active (was ${report.previous ?? 'none'}), rebuilt from ${report.source}${report.resumed ? ' (resumed)' : ''}: ` +
                `${count(report.events)} events in ${(report.durationMs / 1000).toFixed(1)} s (${count(report.eventsPerSecond)}/s)`,
              report.store
                ? `event store: ${count(report.store.events)} events read in ${(report.store.durationMs / 1000).toFixed(1)} s (${count(report.store.eventsPerSecond)}/s); ` +
                  `then ${count(report.kafkaRecordsAfterSnapshot ?? 0)} records from Kafka after the noted offsets`
                : '',
              report.handedOff
                ? 'a running projector took over its consumer group'
                : 'no projector joined its consumer group yet; the next one to start will',
              report.dropped.length > 0 ? `dropped retired generation(s) ${report.dropped.join(', ')}` : '',
            ]
              .filter(Boolean)
              .join('\n'),
          );
        } finally {
          if (progressShown) process.stderr.write('\n');
          await Promise.allSettled([session.close(), eventStore?.end()]);
        }
      },
    );
  cli
    .command('reconcile')
    .description(
      'compare every read-model row with a replay of the event store, and every stream with what reached Kafka; ' +
        'exit status 0: all agree, 1: differences remain, 2: usage, configuration or access error',
    )
    .option(
      '--repair',
      'rewrite the streams that differ in the read model from the store (and recount the statistics concerned), then check them again',
    )
    .option(
      '--settle <ms>',
      'how long a stream the projector or the relay may still be on gets before it counts as behind or not published',
      parseNonNegativeInt,
      5_000,
    )
    .option('--limit <n>', 'differences printed (--json lists all)', parsePositiveInt, 50)
    .option('--stream-type <type>', 'the event store’s stream type the read model projects', 'tasks.task')
    .option('--json', 'machine-readable output')
    // Usage errors exit with 2 (commander has printed the message), as configuration errors do.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action(
      async (options: { repair?: boolean; settle: number; limit: number; streamType: string; json?: boolean }) => {
        let progressShown = false;
        try {
          const report = await reconcileWithConfig(
            config(),
            {
              repair: !!options.repair,
              settleMs: options.settle,
              streamType: options.streamType,
              onProgress:
                options.json || !process.stderr.isTTY
                  ? undefined
                  : (p) => {
                      progressShown = true;
                      process.stderr.write(
                        `\r\x1b[K${p.phase}${p.events > 0 ? `: ${p.streams.toLocaleString('en-US')} streams, ${p.events.toLocaleString('en-US')} events` : ''} (${Math.round(p.elapsedMs / 1000)} s)`,
                      );
                    },
            },
            stderrLogger,
          );
          if (progressShown) process.stderr.write('\r\x1b[K');
          print(!!options.json, report, () => describeReport(report, options.limit));
          process.exitCode = report.ok ? 0 : 1;
        } catch (error) {
          if (progressShown) process.stderr.write('\n');
          const known =
            error instanceof ConfigError ||
            error instanceof OperationError ||
            typeof (error as { code?: unknown }).code === 'string' ||
            (error as Error).name === 'ReconcileSetupError';
          console.error(
            known ? `error: ${(error as Error).message}` : `error: ${(error as Error).stack ?? String(error)}`,
          );
          process.exitCode = 2;
        }
      },
    );
  return cli;
}

async function main(): Promise<void> {
  // kafkajs schedules a negative timeout on Node 24 (harmless); keep the CLI's output clean of it.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name !== 'TimeoutNegativeWarning') process.stderr.write(`${warning.name}: ${warning.message}\n`);
  });
  let config: ProjectorConfig | undefined;
  const lazyConfig = () => (config ??= loadProjectorConfig());
  try {
    await program(lazyConfig).parseAsync(process.argv);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    // Known failures (operations, coded errors such as READ_MODEL_NOT_MIGRATED) read best as their message.
    const known = error instanceof OperationError || typeof (error as { code?: unknown }).code === 'string';
    console.error(`error: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}`);
    process.exit(1);
  }
}

void main();
