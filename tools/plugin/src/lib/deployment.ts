import type { ContextNames } from './names';
import { SourceEditError } from './source-edit';

/**
 * Edits of the deployment's YAML, where each context's Kafka topics are listed. They are line
 * edits under anchors found by indentation (a YAML library would re-lay the files out and drop
 * their alignment), checked by tools/deploy's tests against schemas/manifest.json. Each edit
 * finds every anchor or throws naming the file and the anchor; what is there already stays, so
 * running one twice changes nothing.
 */

/** The compose stack, whose one-shot `topics` service creates the topics and grants the ACLs. */
export const COMPOSE_FILE = 'docker-compose.yml';
/** The chart's defaults, whose `kafka.topics.names` become KafkaTopic resources. */
export const HELM_VALUES = 'helm/cqrs/values.yaml';

interface Line {
  text: string;
  indent: number;
  /** Blank or a comment only: no bearing on the structure. */
  blank: boolean;
}

const lines = (text: string): Line[] =>
  text.split('\n').map((line) => ({
    text: line,
    indent: /^ */.exec(line)?.[0].length ?? 0,
    blank: /^\s*(#.*)?$/.test(line),
  }));

/**
 * The line range of the mapping entry `<key>:` found by `path` (keys from the top level down),
 * each key one level deeper than its parent: `[start, end)`, `start` being the key's line.
 */
function block(file: string, all: Line[], path: readonly string[]): { start: number; end: number; indent: number } {
  let range = { start: -1, end: all.length, indent: -1 };
  for (const [depth, key] of path.entries()) {
    const keyLine = new RegExp(`^ *${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\s|$)`);
    let start = -1;
    let childIndent = -1;
    for (let i = range.start + 1; i < range.end; i++) {
      const line = all[i];
      if (line.blank) continue;
      // only the direct children of the enclosing entry: the first one fixes their indentation
      if (childIndent === -1) childIndent = line.indent;
      if (line.indent === childIndent && keyLine.test(line.text)) {
        start = i;
        break;
      }
    }
    if (start === -1 || childIndent <= range.indent) {
      throw new SourceEditError(file, `no \`${path.slice(0, depth + 1).join('.')}\` to add the topics to`);
    }
    let end = start + 1;
    while (end < range.end && (all[end].blank || all[end].indent > childIndent)) end++;
    // trailing blank lines and comments belong to what follows
    while (end > start + 1 && all[end - 1].blank) end--;
    range = { start, end, indent: childIndent };
  }
  return range;
}

/** `  cqrs-projector literal  --topic <name>  Read Describe Create` as tokens, for comparing ACL lines. */
const tokens = (line: string): string => line.trim().split(/\s+/).join(' ');

/**
 * The ACLs the native stack grants a context's topic (tools/local-stack/stack.sh `kafka_acl_spec`,
 * which the compose spec compares the `ACLS` block with): the relay writes the topic, the projector
 * reads it and writes its dead-letter topic, consumes in `<context>-projector…` groups, and
 * Debezium writes `<context>.` topics.
 */
export function contextAcls(names: ContextNames): string[][] {
  const { topic, context } = names;
  return [
    ['cqrs-relay', 'literal', '--topic', topic, 'Write Describe Create'],
    ['cqrs-projector', 'literal', '--topic', topic, 'Read Describe Create'],
    ['cqrs-projector', 'literal', '--topic', `${topic}.dlq`, 'Write Describe Create Read'],
    ['cqrs-projector', 'prefixed', '--group', `${context}-projector`, 'Read Describe Delete'],
    ['cqrs-connect', 'prefixed', '--topic', `${context}.`, 'Write Describe Create'],
  ];
}

/**
 * Adds the context's event topic to `TOPICS` of the compose `topics` service (a comma list) and
 * its ACLs to the `ACLS: |` block below it, aligned as the block's lines are.
 */
export function addComposeTopics(file: string, text: string, names: ContextNames): string {
  const all = lines(text);
  const environment = block(file, all, ['services', 'topics', 'environment']);
  const find = (key: string) => {
    for (let i = environment.start + 1; i < environment.end; i++) {
      if (new RegExp(`^ +${key}:`).test(all[i].text)) return i;
    }
    throw new SourceEditError(file, `no \`${key}:\` in the environment of service \`topics\``);
  };

  const topicsAt = find('TOPICS');
  const topics = /^( +TOPICS: *)(['"]?)([^'"#]*?)\2( *(#.*)?)$/.exec(all[topicsAt].text);
  if (!topics) throw new SourceEditError(file, `\`TOPICS:\` of service \`topics\` is not a comma list of topics`);
  const [, key, quote, list, rest] = topics;
  const listed = list.split(',').map((t) => t.trim());
  if (!listed.includes(names.topic)) {
    const value = [...listed.filter(Boolean), names.topic].join(',');
    all[topicsAt] = { ...all[topicsAt], text: `${key}${quote}${value}${quote}${rest}` };
  }

  const aclsAt = find('ACLS');
  if (!/^ +ACLS: *\|[-+]? *$/.test(all[aclsAt].text)) {
    throw new SourceEditError(file, '`ACLS:` of service `topics` is not a literal block (`ACLS: |`)');
  }
  let last = aclsAt;
  for (
    let i = aclsAt + 1;
    i < environment.end && (all[i].text.trim() === '' || all[i].indent > all[aclsAt].indent);
    i++
  ) {
    if (all[i].text.trim() !== '') last = i;
  }
  if (last === aclsAt) throw new SourceEditError(file, 'the `ACLS: |` block of service `topics` is empty');
  const blockLines = all.slice(aclsAt + 1, last + 1).map((l) => l.text);
  const present = new Set(blockLines.map(tokens));
  const missing = contextAcls(names).filter((acl) => !present.has(tokens(acl.join(' '))));
  if (missing.length > 0) {
    const indent = ' '.repeat(all[last].indent);
    // the columns of the block: principal and pattern type as wide as the widest there
    const width = (column: number) =>
      Math.max(
        ...blockLines.map((l) => l.trim().split(/\s+/)[column]?.length ?? 0),
        ...missing.map((a) => a[column].length),
      );
    const nameWidth = Math.max(...missing.map((a) => a[3].length)) + 2;
    const added = missing.map(
      ([principal, pattern, option, name, operations]) =>
        `${indent}${principal.padEnd(width(0) + 1)}${pattern.padEnd(width(1) + 1)}${option} ${name.padEnd(nameWidth)}${operations}`,
    );
    all.splice(last + 1, 0, ...added.map((t) => ({ text: t, indent: indent.length, blank: false })));
  }
  return all.map((l) => l.text).join('\n');
}

/** Adds the context's event topic and its dead-letter topic to `kafka.topics.names` of the chart's values. */
export function addHelmTopicNames(file: string, text: string, names: ContextNames): string {
  const all = lines(text);
  const list = block(file, all, ['kafka', 'topics', 'names']);
  if (!/^ *names: *(#.*)?$/.test(all[list.start].text)) {
    throw new SourceEditError(file, '`kafka.topics.names` is not a block list (`names:` then `- <topic>` lines)');
  }
  const items = all.slice(list.start + 1, list.end).filter((l) => !l.blank);
  const item = /^ *- *(['"]?)([^'"#\s]+)\1 *(#.*)?$/;
  if (items.length === 0 || items.some((l) => !item.test(l.text))) {
    throw new SourceEditError(file, '`kafka.topics.names` must list one topic per `- <topic>` line');
  }
  const listed = items.map((l) => (item.exec(l.text) as RegExpExecArray)[2]);
  const indent = ' '.repeat(items[0].indent);
  const added = [names.topic, `${names.topic}.dlq`]
    .filter((topic) => !listed.includes(topic))
    .map((topic) => ({ text: `${indent}- ${topic}`, indent: indent.length, blank: false }));
  all.splice(list.end, 0, ...added);
  return all.map((l) => l.text).join('\n');
}
