/**
 * Throwaway schema directories for tests: a manifest, .avsc files and fixtures in a temp folder,
 * on a topic unique to the test so its subjects never touch the real ones.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import type { Schema } from 'avsc';
import type { AvroRecordSchema, Compatibility } from '../manifest.mts';

export interface TempSchemaDir {
  dir: string;
  topic: string;
  subject: string;
}

export interface TempSchemaOptions {
  /** Versions of one record, oldest first. */
  versions: AvroRecordSchema[];
  topic?: string;
  compatibility?: Compatibility;
  /** Event file base name. @default 'thing-happened' */
  base?: string;
  /** Write into this directory (e.g. to change a schema set in place). */
  dir?: string;
}

/** A unique topic name for a test run. */
export const uniqueTopic = (label: string): string => `contract-it-${label}-${randomUUID().slice(0, 8)}.events`;

/** Writes a schemas directory with one subject; fixtures are random valid records. */
export function writeSchemaDir(options: TempSchemaOptions): TempSchemaDir {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'schemas-'));
  const topic = options.topic ?? uniqueTopic('t');
  const base = options.base ?? 'thing-happened';
  const first = options.versions[0];
  const subject = `${topic}-${first.namespace}.${first.name}`;
  mkdirSync(join(dir, 'it', 'thing', 'fixtures'), { recursive: true });
  const entries = options.versions.map((schema, i) => {
    const file = `it/thing/${base}.v${i + 1}.avsc`;
    writeFileSync(join(dir, file), JSON.stringify(schema, null, 2));
    const fixture = avro.Type.forSchema(schema as Schema).random();
    writeFileSync(join(dir, 'it/thing/fixtures', `${base}.v${i + 1}.json`), JSON.stringify(fixture));
    return { schema: file, topic, subject, ...(options.compatibility ? { compatibility: options.compatibility } : {}) };
  });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ schemas: entries }, null, 2));
  return { dir, topic, subject };
}

/** A record schema in namespace `contract.it`. */
export function record(name: string, fields: AvroRecordSchema['fields']): AvroRecordSchema {
  return { type: 'record', name, namespace: 'contract.it', fields };
}
