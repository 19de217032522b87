/**
 * Local schema compatibility, with reasons. avsc decides whether a reader schema can read data
 * written with a writer schema (Avro schema resolution, the same rules the registry applies);
 * when it cannot, we walk both schemas to name the field and the kind of break, because
 * "is_compatible: false" alone does not tell anyone what to fix.
 */
import avro from 'avsc';
import type { Schema, Type, types } from 'avsc';
import type { Compatibility } from './manifest.mts';

/** The kinds of break users meet, each with its own fix in docs/evolving-events.md. */
export type CompatIssueKind =
  | 'field-without-default'
  | 'type-changed'
  | 'enum-symbol-unknown'
  | 'name-changed'
  | 'not-readable';

/** One reason why a reader cannot read a writer's data. */
export interface CompatIssue {
  kind: CompatIssueKind;
  /** Dotted path from the record to the breaking field, e.g. `description.value`. */
  path: string;
  /** What breaks, phrased with the version labels given to {@link explainIncompatibility}. */
  message: string;
}

/** Labels that make messages read naturally, e.g. `{ reader: 'v2', writer: 'v1', readerIsNewer: true }`. */
export interface PairLabels {
  reader: string;
  writer: string;
  /** Whether the reader is the newer schema; decides "added" versus "removed" wording. */
  readerIsNewer: boolean;
}

const asType = (schema: unknown): Type =>
  avro.Type.isType(schema) ? (schema as Type) : avro.Type.forSchema(schema as Schema);

/** True when data written with `writer` can be read with `reader` (Avro schema resolution). */
export function canRead(reader: unknown, writer: unknown): boolean {
  try {
    asType(reader).createResolver(asType(writer));
    return true;
  } catch {
    return false;
  }
}

/**
 * Why `reader` cannot read data written with `writer`; empty when it can.
 * Issues name the field path and the kind of change.
 */
export function explainIncompatibility(reader: unknown, writer: unknown, labels: PairLabels): CompatIssue[] {
  const r = asType(reader);
  const w = asType(writer);
  if (canRead(r, w)) return [];
  const issues = walk(r, w, '', labels);
  // The walk covers the cases schemas meet in practice; anything else still gets avsc's reason.
  return issues.length > 0 ? issues : [notReadable(r, w, '', labels)];
}

function walk(r: Type, w: Type, path: string, labels: PairLabels): CompatIssue[] {
  if (canRead(r, w)) return [];
  if (isUnion(w)) {
    // Every branch the writer may have used must be readable.
    return (w as types.UnwrappedUnionType).types.flatMap((branch) => walk(r, branch, path, labels));
  }
  if (isUnion(r)) {
    const match = (r as types.UnwrappedUnionType).types.find((branch) => sameKind(branch, w));
    return match ? walk(match, w, path, labels) : [typeChanged(r, w, path, labels)];
  }
  if (r.typeName === 'record' && w.typeName === 'record')
    return walkRecord(r as types.RecordType, w as types.RecordType, path, labels);
  if (r.typeName === 'enum' && w.typeName === 'enum')
    return walkEnum(r as types.EnumType, w as types.EnumType, path, labels);
  if (r.typeName === 'array' && w.typeName === 'array') {
    return walk((r as types.ArrayType).itemsType, (w as types.ArrayType).itemsType, join(path, '[]'), labels);
  }
  if (r.typeName === 'map' && w.typeName === 'map') {
    return walk(
      (r as types.MapType).valuesType as Type,
      (w as types.MapType).valuesType as Type,
      join(path, '{}'),
      labels,
    );
  }
  return [typeChanged(r, w, path, labels)];
}

function walkRecord(r: types.RecordType, w: types.RecordType, path: string, labels: PairLabels): CompatIssue[] {
  if (!namesMatch(r, w)) {
    return [
      {
        kind: 'name-changed',
        path: path || '(record)',
        message: `record ${w.name} (${labels.writer}) cannot be read as ${r.name} (${labels.reader}): the name changed; a renamed event is a new event type`,
      },
    ];
  }
  const issues: CompatIssue[] = [];
  for (const field of r.fields) {
    const fieldPath = join(path, field.name);
    const written = w.fields.find((f) => f.name === field.name || field.aliases.includes(f.name));
    if (!written) {
      if (field.defaultValue() === undefined) {
        const message = labels.readerIsNewer
          ? `field '${fieldPath}' was added in ${labels.reader} without a default, so ${labels.reader} cannot read ${labels.writer} data that lacks it`
          : `field '${fieldPath}' was removed in ${labels.writer}, but ${labels.reader} readers need it (it has no default in ${labels.reader})`;
        issues.push({ kind: 'field-without-default', path: fieldPath, message });
      }
      continue;
    }
    issues.push(...walk(field.type, written.type, fieldPath, labels));
  }
  return issues;
}

function walkEnum(r: types.EnumType, w: types.EnumType, path: string, labels: PairLabels): CompatIssue[] {
  const where = path || (r.name ?? '(enum)');
  if (!namesMatch(r, w)) {
    return [
      {
        kind: 'name-changed',
        path: where,
        message: `enum ${w.name} (${labels.writer}) cannot be read as ${r.name} (${labels.reader}): the name changed`,
      },
    ];
  }
  const unknown = w.symbols.filter((s) => !r.symbols.includes(s));
  return unknown.map((symbol) => ({
    kind: 'enum-symbol-unknown' as const,
    path: where,
    message: labels.readerIsNewer
      ? `enum ${r.name} at '${where}': symbol '${symbol}' was removed in ${labels.reader}, but ${labels.writer} data may contain it (the enum has no default)`
      : `enum ${r.name} at '${where}': symbol '${symbol}' was added in ${labels.writer}, and ${labels.reader} readers do not know it (give the enum a default)`,
  }));
}

function typeChanged(r: Type, w: Type, path: string, labels: PairLabels): CompatIssue {
  return {
    kind: 'type-changed',
    path: path || '(record)',
    message: `field '${path || '(record)'}' changed type: ${describe(w)} in ${labels.writer} cannot be read as ${describe(r)} in ${labels.reader}`,
  };
}

function notReadable(r: Type, w: Type, path: string, labels: PairLabels): CompatIssue {
  let reason = 'unknown reason';
  try {
    r.createResolver(w);
  } catch (error) {
    reason = (error as Error).message;
  }
  return {
    kind: 'not-readable',
    path: path || '(record)',
    message: `${labels.reader} cannot read ${labels.writer} data: ${reason}`,
  };
}

const isUnion = (t: Type): boolean => t.typeName.startsWith('union');

function sameKind(a: Type, b: Type): boolean {
  if (a.typeName !== b.typeName) return false;
  return !a.name || namesMatch(a, b);
}

/** Avro matches named types by unqualified name or an alias (as the Java implementation does). */
function namesMatch(r: Type, w: Type): boolean {
  const short = (n: string | undefined) => (n ?? '').split('.').pop();
  return short(r.name) === short(w.name) || (r.aliases ?? []).some((a) => short(a) === short(w.name));
}

/** A short human description of a type: `string`, `null | string`, `enum tasks.task.TaskPriority`. */
export function describe(t: Type): string {
  if (isUnion(t)) return (t as types.UnwrappedUnionType).types.map(describe).join(' | ');
  if (t.typeName === 'array') return `array<${describe((t as types.ArrayType).itemsType)}>`;
  if (t.typeName === 'map') return `map<${describe((t as types.MapType).valuesType as Type)}>`;
  if (t.name) return `${t.typeName} ${t.name}`;
  return t.typeName;
}

const join = (path: string, segment: string): string => (path ? `${path}.${segment}` : segment);

/** A reader/writer pair to check: indexes into a subject's versions (0 = v1). */
export interface ReadPair {
  reader: number;
  writer: number;
}

/**
 * Which reader versions must read which writer versions for a compatibility level, over
 * versions 0..count-1 (oldest first). BACKWARD: new readers read old data; FORWARD: old
 * readers read new data; FULL: both; *_TRANSITIVE: against every earlier version, not just
 * the previous one.
 */
export function readPairs(level: Compatibility, count: number): ReadPair[] {
  const pairs: ReadPair[] = [];
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const transitive = level.endsWith('_TRANSITIVE');
  for (let newer = 1; newer < count; newer++) {
    for (let older = transitive ? 0 : newer - 1; older < newer; older++) {
      if (backward) pairs.push({ reader: newer, writer: older });
      if (forward) pairs.push({ reader: older, writer: newer });
    }
  }
  return pairs;
}
