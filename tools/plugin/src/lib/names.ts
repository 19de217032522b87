import { names } from '@nx/devkit';

/** A context name: lowercase kebab case, as in folders, tags, topics and import paths. */
const CONTEXT_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/**
 * An aggregate, event or command name: PascalCase, as in the Avro record name and the `type`
 * strings. Every capital starts a word of at least two characters, so the kebab-case file name
 * converts back to the same name (`OrderLine` <-> `order-line`; `HTTPCall` would not).
 */
const PASCAL_NAME = /^([A-Z][a-z0-9]+)+$/;
/** Scope tags that are not contexts (eslint.config.mjs), and folder names under libs/ that are taken. */
const RESERVED_CONTEXTS = ['shared', 'app', 'testing'];

/** Throws unless `name` can name a new context. */
export function assertContextName(name: string): void {
  if (!CONTEXT_NAME.test(name)) {
    throw new Error(`"${name}" is not a context name: use lowercase kebab case (e.g. projects, order-lines)`);
  }
  if (RESERVED_CONTEXTS.includes(name)) {
    throw new Error(`"${name}" cannot name a context: ${RESERVED_CONTEXTS.join(', ')} are taken`);
  }
}

/** Throws unless `name` is PascalCase; `what` names it in the message. */
export function assertPascalName(name: string, what: string): void {
  if (!PASCAL_NAME.test(name)) throw new Error(`"${name}" is not a valid ${what} name: use PascalCase (e.g. Project)`);
}

/** `projects` -> `project`, `categories` -> `category`, `boxes` -> `box`; the last kebab segment only. */
export function singular(name: string): string {
  const cut = name.lastIndexOf('-') + 1;
  const [head, word] = [name.slice(0, cut), name.slice(cut)];
  let one = word;
  if (/ies$/.test(word)) one = word.slice(0, -3) + 'y';
  else if (/(ss|us|is)$/.test(word)) one = word;
  else if (/(s|x|z|ch|sh)es$/.test(word)) one = word.slice(0, -2);
  else if (/s$/.test(word)) one = word.slice(0, -1);
  return head + one;
}

/**
 * `Archive` -> `Archived`, `Copy` -> `Copied`, `Pin` -> `Pinned` (a one-syllable verb ending in
 * one vowel and one consonant doubles it), `Rename` -> `Renamed`: good enough for a default.
 */
export function pastTense(verb: string): string {
  if (/e$/.test(verb)) return verb + 'd';
  if (/[^aeiou]y$/.test(verb)) return verb.slice(0, -1) + 'ied';
  if (/^[^aeiou]*[aeiou][^aeiouwxy]$/i.test(verb)) return verb + verb.slice(-1) + 'ed';
  return verb + 'ed';
}

const snake = (kebab: string): string => kebab.replace(/-/g, '_');

/** Every spelling of a context and its aggregate that the generators write. */
export interface ContextNames {
  /** `order-lines`: folders, tags, import paths, the topic's first segment. */
  context: string;
  /** `orderLines`: `orderLinesReadModel`, `orderLinesProjection`. */
  contextCamel: string;
  /** `order_lines`: SQL names. */
  contextSnake: string;
  /** `OrderLines`: class names (the migration). */
  contextPascal: string;
  /** `ORDER_LINES`: constants. */
  contextConst: string;
  /** `OrderLine`: the aggregate's types and the events' prefix. */
  aggregate: string;
  /** `orderLine`: variables, `orderLineId`. */
  aggregateCamel: string;
  /** `order-line`: file names and the topic's second segment. */
  aggregateKebab: string;
  /** `ORDER_LINE`: constants and error codes. */
  aggregateConst: string;
  /** `order_lines.order_line`: the Avro namespace (Avro names allow no hyphen). */
  namespace: string;
  /** `order-lines.order-line`: the events' stream type, the outbox `aggregatetype` (the topic without `.events`). */
  streamType: string;
  /** `order-lines.order-line.events`. */
  topic: string;
  /** `orderLinesOrderLineEvents`: the prefix codegen gives the topic's exports (`…Topic`, `…Contracts`). */
  topicCamel: string;
  /** `OrderLinesOrderLineEvents`: the prefix of the topic's types (`…Record`). */
  topicPascal: string;
  /** `schemas/order-lines/order-line`. */
  schemaDir: string;
  /** `order_lines_order_line_views`. */
  viewsTable: string;
  /** `order_lines_stream_checkpoints`. */
  checkpointTable: string;
  /** `order_lines_read_migrations`: the TypeORM history of its read-model migrations. */
  migrationsTable: string;
}

export function contextNames(context: string, aggregate?: string): ContextNames {
  assertContextName(context);
  const aggregatePascal = aggregate ?? names(singular(context)).className;
  assertPascalName(aggregatePascal, 'aggregate');
  const agg = names(aggregatePascal);
  const contextCamel = names(context).propertyName;
  const aggregateKebab = agg.fileName;
  const streamType = `${context}.${aggregateKebab}`;
  const topic = `${streamType}.events`;
  const topicCamel = names(topic.replace(/\./g, '-')).propertyName;
  return {
    context,
    contextCamel,
    contextSnake: snake(context),
    contextPascal: names(context).className,
    contextConst: names(context).constantName,
    aggregate: agg.className,
    aggregateCamel: agg.propertyName,
    aggregateKebab,
    aggregateConst: agg.constantName,
    namespace: `${snake(context)}.${snake(aggregateKebab)}`,
    streamType,
    topic,
    topicCamel,
    topicPascal: topicCamel.charAt(0).toUpperCase() + topicCamel.slice(1),
    schemaDir: `schemas/${context}/${aggregateKebab}`,
    viewsTable: `${snake(context)}_${snake(aggregateKebab)}_views`,
    checkpointTable: `${snake(context)}_stream_checkpoints`,
    migrationsTable: `${snake(context)}_read_migrations`,
  };
}

/** Roots of the context's libs. */
export const libRoot = (context: string, layer: 'domain' | 'contracts' | 'read-model'): string =>
  `libs/${context}/${layer}`;

/** The folder of a context's files in an app (`apps/command-service/src/order-lines`). */
export const appContextRoot = (app: string, context: string): string => `apps/${app}/src/${context}`;
