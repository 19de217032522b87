// Registers (or updates) the Debezium outbox connector on a Kafka Connect worker and waits until
// it runs. The JVM alternative to apps/outbox-relay: same topics, keys, value bytes and headers.
//
//   node connect/register.mts                      # native stack (tools/local-stack), cqrs_write
//   node connect/register.mts --compose            # the docker-compose worker (Postgres at postgres:5432)
//   node connect/register.mts --print              # print the rendered config, register nothing
//   node connect/register.mts --delete             # remove the connector (its slot stays: drop it yourself)
//
// Settings (environment, all optional):
//   KAFKA_CONNECT_URL          worker REST URL                    (http://127.0.0.1:8083)
//   DEBEZIUM_DATABASE_URL      Postgres as Connect reaches it; a REPLICATION role
//                              (RELAY_DATABASE_URL, else postgres://cqrs_relay:cqrs@127.0.0.1:5433/cqrs_write;
//                              with --compose postgres://cqrs_relay:cqrs@postgres:5432/cqrs_write).
//                              Its libpq TLS parameters go to the connector: ?sslmode=verify-full&sslrootcert=<ca.pem>
//                              (database.sslmode, default Debezium's own `prefer`; database.sslrootcert,
//                              a path the Connect worker reads, left out when not given)
//   DEBEZIUM_CONNECTOR_NAME    connector name                     (cqrs-outbox)
//   DEBEZIUM_SLOT_NAME         replication slot                   (cqrs_outbox_debezium; never the relay's)
//   DEBEZIUM_TOPIC_REPLACEMENT topic per aggregatetype            (${routedByValue}.events)
//   DEBEZIUM_TOPIC_PREFIX      Debezium's logical name; names its heartbeat topic (cqrs-outbox)
//   OUTBOX_PUBLICATION         publication made by the migrations (cqrs_outbox)
//   OUTBOX_TOPIC_PARTITIONS    partitions of topics Connect creates (6, as the relay)
//   EVENT_TOPIC_RETENTION_MS   retention.ms of the event topics Connect creates (-1: every event kept,
//                              as the relay; or an hour or more). Other topics (its heartbeat topic)
//                              get the broker's default.
// Run with Node 24 (type stripping). Exit status: 0 running, 1 failed, 2 bad usage.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Fills `${NAME}` placeholders (upper-case names only, so Debezium's own `${routedByValue}` survives).
 * A setting that is exactly one placeholder with an empty value is left out (e.g. no sslrootcert:
 * the connector's default, not an empty path).
 */
export function renderConfig(
  template: string,
  vars: Record<string, string>,
): { name: string; config: Record<string, string> } {
  const text = template.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined)
      throw new Error(`connect/outbox-connector.json uses \${${name}} but no value was given for it`);
    return JSON.stringify(value).slice(1, -1);
  });
  const rendered = JSON.parse(text) as { name: string; config: Record<string, string> };
  const placeholders = (JSON.parse(template) as { config: Record<string, string> }).config;
  for (const [key, value] of Object.entries(rendered.config)) {
    if (value === '' && /^\$\{[A-Z][A-Z0-9_]*\}$/.test(placeholders[key] ?? '')) delete rendered.config[key];
  }
  return rendered;
}

/**
 * The Kafka Connect `include` pattern (a Java regex, matched against the whole name) of the topics
 * a topic replacement such as `${routedByValue}.events` names: the event topics.
 */
export function eventTopicPattern(topicReplacement: string): string {
  return topicReplacement
    .split('${routedByValue}')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.+');
}

/** EVENT_TOPIC_RETENTION_MS as the apps accept it: -1 (every event kept) or an hour or more. */
export function eventTopicRetention(value: string | undefined): string {
  const text = value ?? '-1';
  const ms = Number(text);
  if (!/^-?\d+$/.test(text) || !(ms === -1 || (Number.isSafeInteger(ms) && ms >= 3_600_000))) {
    throw new Error(
      `EVENT_TOPIC_RETENTION_MS=${text}: must be -1 (keep every event) or a bounded retention of at least 3600000 ms (one hour)`,
    );
  }
  return text;
}

function settings(compose: boolean) {
  const env = process.env;
  const topicReplacement = env['DEBEZIUM_TOPIC_REPLACEMENT'] ?? '${routedByValue}.events';
  const dbUrl = new URL(
    env['DEBEZIUM_DATABASE_URL'] ??
      (compose
        ? 'postgres://cqrs_relay:cqrs@postgres:5432/cqrs_write'
        : (env['RELAY_DATABASE_URL'] ?? 'postgres://cqrs_relay:cqrs@127.0.0.1:5433/cqrs_write')),
  );
  return {
    connectUrl: (env['KAFKA_CONNECT_URL'] ?? 'http://127.0.0.1:8083').replace(/\/$/, ''),
    vars: {
      CONNECTOR_NAME: env['DEBEZIUM_CONNECTOR_NAME'] ?? 'cqrs-outbox',
      DATABASE_HOST: dbUrl.hostname,
      DATABASE_PORT: dbUrl.port || '5432',
      DATABASE_USER: decodeURIComponent(dbUrl.username),
      DATABASE_PASSWORD: decodeURIComponent(dbUrl.password),
      DATABASE_NAME: dbUrl.pathname.replace(/^\//, ''),
      // libpq's TLS parameters of the URL, as Debezium names them (its default sslmode is prefer).
      DATABASE_SSLMODE: dbUrl.searchParams.get('sslmode') ?? 'prefer',
      DATABASE_SSLROOTCERT: dbUrl.searchParams.get('sslrootcert') ?? '',
      SLOT_NAME: env['DEBEZIUM_SLOT_NAME'] ?? 'cqrs_outbox_debezium',
      TOPIC_PREFIX: env['DEBEZIUM_TOPIC_PREFIX'] ?? 'cqrs-outbox',
      PUBLICATION_NAME: env['OUTBOX_PUBLICATION'] ?? 'cqrs_outbox',
      TOPIC_REPLACEMENT: topicReplacement,
      TOPIC_PARTITIONS: env['OUTBOX_TOPIC_PARTITIONS'] ?? '6',
      // The event topics Connect creates keep their history, as the relay's (docs/architecture.md).
      EVENT_TOPIC_PATTERN: eventTopicPattern(topicReplacement),
      EVENT_TOPIC_RETENTION_MS: eventTopicRetention(env['EVENT_TOPIC_RETENTION_MS']),
    },
  };
}

async function request(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text for the message
  }
  return { status: response.status, body };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      compose: { type: 'boolean' },
      print: { type: 'boolean' },
      delete: { type: 'boolean' },
      'timeout-ms': { type: 'string' },
    },
  });
  const { connectUrl, vars } = settings(Boolean(values.compose));
  const { name, config } = renderConfig(readFileSync(join(here, 'outbox-connector.json'), 'utf8'), vars);
  const connector = vars.CONNECTOR_NAME ?? name;
  if (values.print) {
    console.log(JSON.stringify({ name: connector, config: { ...config, 'database.password': '***' } }, null, 2));
    return 0;
  }
  const base = `${connectUrl}/connectors/${encodeURIComponent(connector)}`;
  if (values.delete) {
    const { status, body } = await request(base, { method: 'DELETE' });
    if (status !== 204 && status !== 404) throw new Error(`DELETE ${base} answered ${status}: ${JSON.stringify(body)}`);
    console.log(
      status === 404
        ? `connector ${connector} was not registered`
        : `connector ${connector} deleted (slot ${vars.SLOT_NAME} kept)`,
    );
    return 0;
  }
  // PUT /config creates or updates, so re-running the script is safe.
  const put = await request(`${base}/config`, { method: 'PUT', body: JSON.stringify(config) });
  if (put.status !== 200 && put.status !== 201) {
    throw new Error(
      `Kafka Connect at ${connectUrl} rejected the connector config (${put.status}): ${JSON.stringify(put.body)}`,
    );
  }
  const deadline = Date.now() + Number(values['timeout-ms'] ?? 60_000);
  for (;;) {
    const { body } = await request(`${base}/status`);
    const status = body as { connector?: { state?: string }; tasks?: { state: string; trace?: string }[] };
    const task = status.tasks?.[0];
    if (task?.state === 'FAILED') throw new Error(`connector ${connector} task failed:\n${task.trace ?? '(no trace)'}`);
    if (status.connector?.state === 'RUNNING' && task?.state === 'RUNNING') break;
    if (Date.now() > deadline) throw new Error(`connector ${connector} not RUNNING in time: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(
    `connector ${connector} RUNNING on ${connectUrl}: slot ${vars.SLOT_NAME}, publication ${vars.PUBLICATION_NAME}, ` +
      `database ${vars.DATABASE_USER}@${vars.DATABASE_HOST}:${vars.DATABASE_PORT}/${vars.DATABASE_NAME}`,
  );
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const e = error as { message?: string; cause?: { code?: string } };
      const hint =
        e.cause?.code === 'ECONNREFUSED' ? ' (is Kafka Connect running? bash tools/local-stack/stack.sh up)' : '';
      console.error(`connect/register: ${e.message ?? String(error)}${hint}`);
      process.exit(/^Unknown option|^Option/.test(e.message ?? '') ? 2 : 1);
    },
  );
}
