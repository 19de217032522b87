/**
 * How an outbox row becomes a Kafka record: the same rules as Debezium's outbox EventRouter
 * (topic from `aggregatetype`, key `aggregateid`, value = `payload` bytes untouched, headers `id`,
 * `eventType` and the additional columns placed as headers), so either can relay the outbox.
 */

/** One `column:header:alias` entry of {@link parseHeaderPlacement}. */
export interface HeaderPlacement {
  column: string;
  header: string;
}

/** A configuration value the relay cannot work with; the message names the setting and the fix. */
export class RelayConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelayConfigError';
  }
}

/** A row the relay cannot turn into a record (it is never skipped: the relay stops and says why). */
export class UnroutableRowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnroutableRowError';
  }
}

/**
 * Parses Debezium's `table.fields.additional.placement` syntax restricted to headers:
 * `column:header[:alias],...` (alias defaults to the column name). `envelope` and `partition`
 * placements are refused: the value is forwarded as raw bytes, there is no envelope to add to.
 */
export function parseHeaderPlacement(spec: string, setting = 'OUTBOX_HEADER_PLACEMENT'): HeaderPlacement[] {
  const prefix = setting ? `${setting}: ` : '';
  const placements: HeaderPlacement[] = [];
  for (const raw of spec.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const [column, placement, alias, ...rest] = entry.split(':').map((part) => part.trim());
    if (!column || !placement || rest.length > 0 || alias === '') {
      throw new RelayConfigError(`${prefix}"${entry}" is not column:header[:alias]`);
    }
    if (placement !== 'header') {
      throw new RelayConfigError(
        `${prefix}"${entry}" places ${column} in "${placement}"; only "header" is supported (the payload is forwarded as raw bytes)`,
      );
    }
    const header = alias ?? column;
    if (header === 'id' || header === 'eventType' || placements.some((p) => p.header === header)) {
      throw new RelayConfigError(`${prefix}header "${header}" is given twice (id and eventType are always set)`);
    }
    placements.push({ column, header });
  }
  return placements;
}

const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Compiles a topic replacement such as `${aggregatetype}.events` (Debezium's `${routedByValue}`
 * is accepted as a synonym) into a function of the row's aggregate type.
 */
export function compileTopicReplacement(
  template: string,
  setting = 'OUTBOX_TOPIC_REPLACEMENT',
): (aggregateType: string) => string {
  const prefix = setting ? `${setting}: ` : '';
  const unknown = [...template.matchAll(/\$\{([^}]*)\}/g)]
    .map((m) => m[1])
    .filter((name) => name !== 'aggregatetype' && name !== 'routedByValue');
  if (unknown.length > 0) {
    throw new RelayConfigError(
      `${prefix}unknown placeholder \${${unknown[0]}} in "${template}" (use \${aggregatetype})`,
    );
  }
  if (!/\$\{(aggregatetype|routedByValue)\}/.test(template) && !LEGAL_TOPIC.test(template)) {
    throw new RelayConfigError(`${prefix}"${template}" is not a legal Kafka topic name`);
  }
  const parts = template.split(/\$\{(?:aggregatetype|routedByValue)\}/);
  return (aggregateType) => {
    const topic = parts.join(aggregateType);
    if (!LEGAL_TOPIC.test(topic) || topic === '.' || topic === '..') {
      throw new UnroutableRowError(
        `aggregatetype ${JSON.stringify(aggregateType)} gives topic ${JSON.stringify(topic)}, which is not a legal Kafka topic name`,
      );
    }
    return topic;
  };
}

/** A column as the replication stream describes it (pgoutput Relation message). */
export interface RelationColumn {
  name: string;
  typeOid: number;
}

/** A decoded column value: text form, raw bytes for `bytea`, null, or undefined for an unchanged TOAST value. */
export type ColumnValue = string | Buffer | null | undefined;

/** What the producer needs for one outbox row. */
export interface OutboxRecord {
  topic: string;
  key: string | null;
  value: Buffer | null;
  /** `null` values are kept: Debezium sends a header with a null value for a null column. */
  headers: Record<string, string | null>;
  /** The row's `timestamp` column in epoch ms, or null when absent. */
  timestampMs: number | null;
}

const REQUIRED = ['id', 'aggregatetype', 'aggregateid', 'type', 'payload'] as const;

/**
 * Routes rows of one outbox table. {@link bind} checks a table's columns once per relation
 * (so a missing column fails loudly at the first row, naming the column); {@link route} is then
 * a few array reads per row.
 */
export class OutboxRouter {
  private readonly topicOf: (aggregateType: string) => string;
  private readonly topics = new Map<string, string>();

  constructor(
    topicReplacement: string,
    private readonly placements: HeaderPlacement[],
  ) {
    this.topicOf = compileTopicReplacement(topicReplacement);
  }

  /** Resolves the column positions of a table; throws {@link UnroutableRowError} if one is missing. */
  bind(table: string, columns: RelationColumn[]): BoundOutboxTable {
    const index = (name: string) => columns.findIndex((c) => c.name === name);
    const missing = [...REQUIRED, ...this.placements.map((p) => p.column)].filter((name) => index(name) < 0);
    if (missing.length > 0) {
      throw new UnroutableRowError(
        `table ${table} has no column ${missing.join(', ')}: it is not an outbox table this relay can route`,
      );
    }
    return {
      table,
      id: index('id'),
      aggregateType: index('aggregatetype'),
      aggregateId: index('aggregateid'),
      type: index('type'),
      payload: index('payload'),
      payloadIsBytea: columns[index('payload')]?.typeOid === BYTEA_OID,
      timestamp: index('timestamp'),
      headers: this.placements.map((p) => ({ header: p.header, index: index(p.column) })),
    };
  }

  /** Turns one inserted row into its record. */
  route(table: BoundOutboxTable, values: ColumnValue[]): OutboxRecord {
    const aggregateType = asText(values[table.aggregateType]);
    if (aggregateType === null)
      throw new UnroutableRowError(`outbox row ${asText(values[table.id])} has no aggregatetype`);
    let topic = this.topics.get(aggregateType);
    if (topic === undefined) {
      topic = this.topicOf(aggregateType);
      this.topics.set(aggregateType, topic);
    }
    const headers: Record<string, string | null> = {
      id: asText(values[table.id]),
      eventType: asText(values[table.type]),
    };
    for (const { header, index } of table.headers) headers[header] = asText(values[index]);
    const payload = values[table.payload];
    return {
      topic,
      key: asText(values[table.aggregateId]),
      value:
        payload === null || payload === undefined
          ? null
          : typeof payload === 'string'
            ? Buffer.from(payload, 'utf8')
            : payload,
      headers,
      timestampMs: table.timestamp < 0 ? null : parsePgTimestamp(asText(values[table.timestamp])),
    };
  }
}

/** Column positions of a bound outbox table (see {@link OutboxRouter.bind}). */
export interface BoundOutboxTable {
  table: string;
  id: number;
  aggregateType: number;
  aggregateId: number;
  type: number;
  payload: number;
  payloadIsBytea: boolean;
  timestamp: number;
  headers: { header: string; index: number }[];
}

/** pg_type oid of `bytea`. */
export const BYTEA_OID = 17;

function asText(value: ColumnValue): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : value.toString('utf8');
}

const PG_TIMESTAMP =
  /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:([+-])(\d\d)(?::?(\d\d))?(?::(\d\d))?)?$/;

/**
 * Epoch ms of a `timestamptz` in Postgres' ISO output (`2025-01-02 03:04:05.123456+00`), as the
 * replication connection prints it (DateStyle=ISO). Null when absent or not parseable: the value
 * only feeds the record timestamp and the lag metric, never routing.
 */
export function parsePgTimestamp(text: string | null): number | null {
  if (text === null) return null;
  // The rows of one transaction share its timestamp: the last one parsed is remembered.
  if (text === lastParsed.text) return lastParsed.ms;
  const ms = parsePgTimestampOnce(text);
  lastParsed = { text, ms };
  return ms;
}

let lastParsed: { text: string | null; ms: number | null } = { text: null, ms: null };

function parsePgTimestampOnce(text: string): number | null {
  const m = PG_TIMESTAMP.exec(text);
  if (!m) {
    const parsed = Date.parse(text);
    return Number.isNaN(parsed) ? null : parsed;
  }
  const ms = Date.UTC(
    +m[1]!,
    +m[2]! - 1,
    +m[3]!,
    +m[4]!,
    +m[5]!,
    +m[6]!,
    m[7] ? Math.floor(+m[7].padEnd(6, '0') / 1000) : 0,
  );
  const offsetSeconds = m[8] ? (m[8] === '-' ? -1 : 1) * (+m[9]! * 3600 + +(m[10] ?? 0) * 60 + +(m[11] ?? 0)) : 0;
  return ms - offsetSeconds * 1000;
}
