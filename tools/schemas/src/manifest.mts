/**
 * Loads `schemas/manifest.json` and every schema and fixture it names, and checks that they
 * agree with each other, so codegen, registration and the contract check all start from one
 * validated model instead of each re-reading files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import avro from 'avsc';
import type { Schema, Type } from 'avsc';
import { z } from 'zod';

/** Compatibility levels a Confluent-compatible registry understands. */
export const COMPATIBILITY_LEVELS = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const;
export type Compatibility = (typeof COMPATIBILITY_LEVELS)[number];

/** The level a subject gets when the manifest states none (docs/architecture.md §3, Events). */
export const DEFAULT_COMPATIBILITY: Compatibility = 'FULL_TRANSITIVE';

/** An Avro record schema as written in an .avsc file. */
export interface AvroRecordSchema {
  type: 'record';
  name: string;
  namespace?: string;
  doc?: string;
  fields: Array<{ name: string; type: unknown; default?: unknown; doc?: string; aliases?: string[] }>;
  [key: string]: unknown;
}

/** One `.v<N>.avsc` file: a version of a subject. */
export interface SchemaVersion {
  /** Path relative to the schemas directory, e.g. `tasks/task/task-created.v2.avsc`. */
  file: string;
  /** Absolute path. */
  path: string;
  /** N from `.v<N>.avsc`; versions of a subject run 1..n in manifest order. */
  version: number;
  schema: AvroRecordSchema;
  /**
   * The exact text sent to the registry. Apicurio does not canonicalise schemas (a
   * whitespace change registers a new version), so every tool must send this same string.
   */
  canonical: string;
  /** The parsed Avro type (avsc). */
  type: Type;
  /** Path of the fixture record relative to the schemas directory. */
  fixtureFile: string;
  /** A sample record, as the generated TypeScript types describe it. */
  fixture: unknown;
}

/** Every version of one subject, oldest first. */
export interface SubjectContract {
  subject: string;
  topic: string;
  /** Full record name, e.g. `tasks.task.TaskCreated`. */
  recordName: string;
  /** Short record name, e.g. `TaskCreated`: the outbox `type` and the `eventType` header. */
  eventType: string;
  /** First folder under schemas/, e.g. `tasks`: which contracts lib the types go to. */
  context: string;
  compatibility: Compatibility;
  versions: SchemaVersion[];
}

/** The validated manifest. */
export interface SchemaManifest {
  /** Absolute path of the schemas directory. */
  dir: string;
  /** Subjects in the order their first version appears in the manifest (registration order). */
  subjects: SubjectContract[];
}

/** The manifest or a file it names is wrong; `problems` lists every problem found. */
export class ManifestError extends Error {
  readonly manifestPath: string;
  readonly problems: string[];

  constructor(manifestPath: string, problems: string[]) {
    super(`${manifestPath} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ManifestError';
    this.manifestPath = manifestPath;
    this.problems = problems;
  }
}

const manifestShape = z.strictObject({
  $comment: z.string().optional(),
  defaultCompatibility: z.enum(COMPATIBILITY_LEVELS).optional(),
  schemas: z
    .array(
      z.strictObject({
        schema: z.string().regex(/\.v[1-9]\d*\.avsc$/, 'must name a file <event>.v<N>.avsc'),
        topic: z.string().min(1),
        subject: z.string().min(1),
        compatibility: z.enum(COMPATIBILITY_LEVELS).optional(),
      }),
    )
    .min(1),
});

/** TopicRecordNameStrategy: the subject of a record on a topic. */
export function topicRecordSubject(topic: string, recordFullName: string): string {
  return `${topic}-${recordFullName}`;
}

/** `tasks/task/task-created.v2.avsc` -> `tasks/task/fixtures/task-created.v2.json`. */
export function fixtureFileFor(schemaFile: string): string {
  const dir = dirname(schemaFile);
  return join(dir, 'fixtures', basename(schemaFile).replace(/\.avsc$/, '.json'));
}

/**
 * Reads and validates `<dir>/manifest.json` with the schemas and fixtures it names.
 * @throws {ManifestError} listing every problem, so one run shows everything to fix.
 */
export function loadSchemaManifest(dir: string): SchemaManifest {
  const root = resolve(dir);
  const manifestPath = join(root, 'manifest.json');
  if (!existsSync(manifestPath)) throw new ManifestError(manifestPath, ['file not found']);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    throw new ManifestError(manifestPath, [`not JSON: ${(error as Error).message}`]);
  }
  const parsed = manifestShape.safeParse(raw);
  if (!parsed.success) {
    throw new ManifestError(
      manifestPath,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  const manifest = parsed.data;
  const problems: string[] = [];
  const defaultLevel = manifest.defaultCompatibility ?? DEFAULT_COMPATIBILITY;

  const bySubject = new Map<string, SubjectContract>();
  const seenFiles = new Set<string>();
  for (const entry of manifest.schemas) {
    const where = entry.schema;
    if (seenFiles.has(entry.schema)) {
      problems.push(`${where}: listed twice`);
      continue;
    }
    seenFiles.add(entry.schema);
    const loaded = loadVersion(root, entry.schema, problems);
    if (!loaded) continue;
    const { schema } = loaded;
    if (!schema.namespace) {
      problems.push(`${where}: the record needs a namespace (subjects use the full name)`);
      continue;
    }
    const recordName = `${schema.namespace}.${schema.name}`;
    const expectedSubject = topicRecordSubject(entry.topic, recordName);
    if (entry.subject !== expectedSubject) {
      problems.push(`${where}: subject is "${entry.subject}" but TopicRecordNameStrategy gives "${expectedSubject}"`);
      continue;
    }
    const level = entry.compatibility ?? defaultLevel;
    let contract = bySubject.get(entry.subject);
    if (!contract) {
      contract = {
        subject: entry.subject,
        topic: entry.topic,
        recordName,
        eventType: schema.name,
        context: entry.schema.split('/')[0],
        compatibility: level,
        versions: [],
      };
      bySubject.set(entry.subject, contract);
    } else if (contract.compatibility !== level) {
      problems.push(
        `${where}: compatibility ${level} differs from ${contract.compatibility} set by an earlier version of ${entry.subject}`,
      );
    }
    const expectedVersion = contract.versions.length + 1;
    if (loaded.version !== expectedVersion) {
      problems.push(
        `${where}: expected version ${expectedVersion} of ${entry.subject} here (versions are listed oldest first, without gaps)`,
      );
    }
    contract.versions.push(loaded);
  }
  if (problems.length > 0) throw new ManifestError(manifestPath, problems);
  return { dir: root, subjects: [...bySubject.values()] };
}

function loadVersion(root: string, file: string, problems: string[]): SchemaVersion | undefined {
  const path = join(root, file);
  if (!existsSync(path)) {
    problems.push(`${file}: file not found`);
    return undefined;
  }
  let schema: AvroRecordSchema;
  try {
    schema = JSON.parse(readFileSync(path, 'utf8')) as AvroRecordSchema;
  } catch (error) {
    problems.push(`${file}: not JSON: ${(error as Error).message}`);
    return undefined;
  }
  let type: Type;
  try {
    type = avro.Type.forSchema(schema as Schema);
  } catch (error) {
    problems.push(`${file}: not a valid Avro schema: ${(error as Error).message}`);
    return undefined;
  }
  if (schema.type !== 'record') {
    problems.push(`${file}: an event schema must be a record, found ${JSON.stringify(schema.type)}`);
    return undefined;
  }
  // The manifest shape already required the .v<N>.avsc suffix.
  const version = Number(/\.v(\d+)\.avsc$/.exec(file)?.[1]);
  const fixtureFile = fixtureFileFor(file);
  const fixturePath = join(root, fixtureFile);
  if (!existsSync(fixturePath)) {
    problems.push(`${file}: fixture ${fixtureFile} not found (every schema version needs a sample record)`);
    return undefined;
  }
  let fixture: unknown;
  try {
    fixture = JSON.parse(readFileSync(fixturePath, 'utf8'));
  } catch (error) {
    problems.push(`${fixtureFile}: not JSON: ${(error as Error).message}`);
    return undefined;
  }
  const invalid: string[] = [];
  let value: unknown;
  try {
    // JSON has no bytes: a fixture writes them as JSON.stringify(Buffer) does ({"type":"Buffer","data":[...]}).
    value = type.clone(fixture, { coerceBuffers: true });
  } catch {
    type.isValid(fixture, {
      errorHook: (path, v) => invalid.push(`${path.join('.') || '(record)'} = ${JSON.stringify(v)}`),
    });
  }
  if (value === undefined) {
    problems.push(`${fixtureFile}: does not match ${file}: ${invalid.join(', ') || 'invalid record'}`);
    return undefined;
  }
  // Extra keys would be silently dropped on encode; a fixture must show exactly the record.
  const unknownKeys = Object.keys(fixture as object).filter((k) => !schema.fields.some((f) => f.name === k));
  if (unknownKeys.length > 0) {
    problems.push(`${fixtureFile}: fields not in ${file}: ${unknownKeys.join(', ')}`);
    return undefined;
  }
  return { file, path, version, schema, canonical: JSON.stringify(schema), type, fixtureFile, fixture: value };
}
