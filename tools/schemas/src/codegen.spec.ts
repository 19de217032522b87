import { join } from 'node:path';
import { CodegenError, generateContracts, GENERATED_MARKER } from './codegen.mts';
import { loadSchemaManifest } from './manifest.mts';
import { record, writeSchemaDir } from './testing/schema-dir.mts';

const repoSchemas = join(__dirname, '../../../schemas');

describe('generateContracts', () => {
  it('is deterministic: the same schemas give byte-identical files', () => {
    const first = generateContracts(loadSchemaManifest(repoSchemas), 'tasks');
    const second = generateContracts(loadSchemaManifest(repoSchemas), 'tasks');
    expect([...first.keys()]).toEqual([
      'task-created.v1.ts',
      'task-created.v2.ts',
      'task-updated.v1.ts',
      'task-started.v1.ts',
      'task-completed.v1.ts',
      'task-abandoned.v1.ts',
      'task-deleted.v1.ts',
      'index.ts',
    ]);
    expect([...second]).toEqual([...first]);
    for (const text of first.values()) expect(text.startsWith(GENERATED_MARKER)).toBe(true);
  });

  it('maps Avro types to the values avsc decodes', () => {
    const { dir } = writeSchemaDir({
      versions: [
        record('Shapes', [
          { name: 'n', type: 'long', doc: 'A count.' },
          { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
          { name: 'maybe', type: ['null', 'string'], default: null },
          { name: 'raw', type: 'bytes' },
          { name: 'list', type: { type: 'array', items: 'double' } },
          { name: 'byKey', type: { type: 'map', values: 'boolean' } },
          { name: 'level', type: { type: 'enum', name: 'Level', symbols: ['LOW', 'HIGH'] } },
          {
            name: 'inner',
            type: ['null', { type: 'record', name: 'Inner', fields: [{ name: 'x', type: 'int' }] }],
            default: null,
          },
          { name: 'again', type: 'Inner' },
        ]),
      ],
    });
    const files = generateContracts(loadSchemaManifest(dir), 'it');
    expect(files.get('thing-happened.v1.ts')).toContain(
      [
        'export interface ShapesV1 {',
        '  /** A count. */',
        '  n: number;',
        '  /** (Avro logical type `timestamp-millis`.) */',
        '  at: number;',
        '  maybe: string | null;',
        '  raw: Buffer;',
        '  list: Array<number>;',
        '  byKey: Record<string, boolean>;',
        '  level: LevelV1;',
        '  inner: InnerV1 | null;',
        '  again: InnerV1;',
        '}',
      ].join('\n'),
    );
    expect(files.get('thing-happened.v1.ts')).toContain("export type LevelV1 = 'LOW' | 'HIGH';");
    expect(files.get('index.ts')).toContain('export type Shapes = ShapesV1;');
  });

  it('refuses unions other than ["null", T], naming the file and field', () => {
    const { dir } = writeSchemaDir({ versions: [record('Either', [{ name: 'value', type: ['int', 'string'] }])] });
    expect(() => generateContracts(loadSchemaManifest(dir), 'it')).toThrow(
      new CodegenError(
        'it/thing/thing-happened.v1.avsc: Either.value is a union ["int","string"]; only ["null", T] unions are supported',
      ),
    );
  });
});
