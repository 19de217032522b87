import { createKafka } from '@cqrs/messaging';
import {
  createThrowawayDatabase,
  devToken,
  getTestInfra,
  registerSchemas,
  repoRoot,
  startApp,
  type AppProcess,
  type ThrowawayDatabase,
} from '@cqrs/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const APP_NAMES = ['command-service', 'outbox-relay', 'projector', 'query-service'] as const;
export type AppName = (typeof APP_NAMES)[number];

/** Someone using the APIs: every request carries a development-issuer token for `subject`. */
export interface Caller {
  /** The token's `sub`: the owner of the tasks this caller creates. */
  subject: string;
  /** `{ authorization: 'Bearer <token>' }`, for requests a test sends itself. */
  auth(): Promise<Record<string, string>>;
  /** A command to the command service; throws on a non-2xx answer (an `authorization` in `headers` replaces the token). */
  command(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ taskId: string; version: number }>;
  /** GET from the query service. */
  query(path: string, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>;
}

/**
 * The four built apps on databases, a slot, a topic and a consumer group of their own. Used as a
 * {@link Caller} it is the run's default user; {@link RunningSystem.as} is anyone else.
 */
export interface RunningSystem extends Caller {
  apps: Record<AppName, AppProcess>;
  topic: string;
  /** Superuser URLs of this run's write (event store) and read (read models) databases. */
  databases: { write: string; read: string };
  /** Starts `name` again with the environment it had (after the test stopped or killed it). */
  restart(name: AppName): Promise<AppProcess>;
  /** The APIs as `subject` (with `roles` in its token, e.g. `['admin']`). */
  as(subject: string, options?: { roles?: string[] }): Caller;
  stop(): Promise<void>;
}

// One token per subject and roles for the whole test file: the apps remember a verified token, as
// they would a real client's. An hour (the issuer's default) outlasts any test here.
const tokens = new Map<string, Promise<string>>();

/** `{ authorization: 'Bearer <token>' }` of a development-issuer token for `subject` (see {@link devToken}). */
export async function bearer(subject: string, roles: string[] = []): Promise<Record<string, string>> {
  const key = JSON.stringify([subject, [...roles].sort()]);
  let token = tokens.get(key);
  if (!token) {
    token = devToken(subject, { roles });
    tokens.set(key, token);
    token.catch(() => tokens.delete(key));
  }
  return { authorization: `Bearer ${await token}` };
}

/** Applies migrations with the CLI an operator runs (`npm run db:migrate`, `db:migrate:read`). */
async function migrate(cli: string, url: string): Promise<void> {
  await exec(process.execPath, ['-r', '@swc-node/register', cli, '--url', url], {
    cwd: repoRoot(),
    env: { ...process.env, SWC_NODE_PROJECT: 'tsconfig.base.json' },
    timeout: 120_000,
  });
}

/**
 * Starts the whole system as real processes on the real stack, isolated from `npm start` and
 * other tests: throwaway write and read databases (migrated by the CLIs), the relay on a slot and
 * a topic of this run, the projector in a consumer group of this run. `env` is added to every
 * app's environment (e.g. the OTLP exporter's), `perApp` to one app's.
 */
export async function startSystem(
  options: { env?: Record<string, string>; perApp?: Partial<Record<AppName, Record<string, string>>> } = {},
): Promise<RunningSystem> {
  const infra = await getTestInfra();
  const run = randomUUID().slice(0, 8);
  const [write, read] = await Promise.all([
    createThrowawayDatabase(infra.postgres.adminUrl, 'obs_write'),
    createThrowawayDatabase(infra.postgres.adminUrl, 'obs_read'),
  ]);
  const databases: ThrowawayDatabase[] = [write, read];
  const apps: Partial<Record<AppName, AppProcess>> = {};
  const stop = async () => {
    await Promise.all(Object.values(apps).map((app) => app.stop()));
    // Each drop also removes the relay's slot; a database left behind would keep it pinning WAL
    // for the whole server, so a failed drop fails the caller (after trying all of them).
    const failed = (await Promise.allSettled(databases.map((db) => db.drop()))).flatMap((r) =>
      r.status === 'rejected' ? [r.reason as Error] : [],
    );
    if (failed.length)
      throw new AggregateError(failed, `system-e2e cleanup: ${failed.map((e) => e.message).join('; ')}`);
  };
  try {
    await Promise.all([
      migrate('libs/shared/event-store/src/cli/migrate.cli.ts', write.url),
      migrate('apps/projector/src/cli/migrate-read.cli.ts', read.url),
      registerSchemas(infra.schemaRegistry.url),
    ]);
    const topic = `e2e.obs${run}.tasks.task.events`;
    const admin = createKafka({ clientId: 'system-e2e', ...infra.kafka }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();

    // The throwaway databases' URLs are the superuser's: enough privileges for every role's work.
    const common = {
      KAFKA_BROKERS: infra.kafka.brokers.join(','),
      SCHEMA_REGISTRY_URL: infra.schemaRegistry.url,
      LOG_LEVEL: 'info',
      ...options.env,
    };
    const envOf: Record<AppName, Record<string, string>> = {
      'command-service': { DATABASE_URL: write.url },
      'outbox-relay': {
        DATABASE_URL: write.url,
        OUTBOX_SLOT_NAME: `obs_${run}`,
        OUTBOX_TOPIC_REPLACEMENT: `e2e.obs${run}.\${aggregatetype}.events`,
      },
      projector: {
        DATABASE_URL: read.url,
        MIGRATIONS_READ_DATABASE_URL: read.url,
        PROJECTOR_TOPICS: topic,
        PROJECTOR_GROUP_PREFIX: `obs-projector-${run}`,
        // every context's events, as the relay names them in this run
        PROJECTOR_STREAM_TOPIC_PREFIX: `e2e.obs${run}.`,
        PROJECTOR_STREAM_GROUP_PREFIX: `obs-${run}-`,
        // its admin API (/admin/cqrs): this run's store, relay slot, and rebuilds allowed
        EVENT_STORE_DATABASE_URL: write.url,
        OUTBOX_SLOT_NAME: `obs_${run}`,
        ADMIN_REBUILD_DATABASE_URL: read.url,
      },
      'query-service': { DATABASE_URL: read.url },
    };
    await Promise.all(
      APP_NAMES.map(async (name) => {
        apps[name] = await startApp(name, { ...common, ...envOf[name], ...options.perApp?.[name] });
      }),
    );
    const running = apps as Record<AppName, AppProcess>;
    const as = (subject: string, { roles = [] }: { roles?: string[] } = {}): Caller => ({
      subject,
      auth: () => bearer(subject, roles),
      async command(method, path, body, headers = {}) {
        const response = await fetch(running['command-service'].url + path, {
          method,
          headers: { 'content-type': 'application/json', ...(await bearer(subject, roles)), ...headers },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const json = (await response.json()) as { taskId: string; version: number };
        if (response.status >= 300)
          throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(json)}`);
        return json;
      },
      async query(path, headers = {}) {
        const response = await fetch(running['query-service'].url + path, {
          headers: { ...(await bearer(subject, roles)), ...headers },
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      },
    });
    return {
      ...as(`user-${run}`),
      as,
      apps: running,
      topic,
      databases: { write: write.url, read: read.url },
      async restart(name) {
        running[name] = await startApp(name, { ...common, ...envOf[name], ...options.perApp?.[name] });
        return running[name];
      },
      stop,
    };
  } catch (error) {
    await stop().catch((cleanup: Error) => {
      throw new AggregateError([error, cleanup], `${(error as Error).message} (and then ${cleanup.message})`);
    });
    throw error;
  }
}

/** The JSON log lines an app wrote (pino), skipping anything else on its stdout/stderr. */
export function logLines(app: AppProcess): Record<string, unknown>[] {
  return app
    .output()
    .split('\n')
    .flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

export { eventually } from '@cqrs/testing';
