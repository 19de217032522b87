import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSchemaManifest, ManifestError } from './manifest.mts';
import { record, writeSchemaDir } from './testing/schema-dir.mts';

const repoSchemas = join(__dirname, '../../../schemas');
const thing = record('Thing', [{ name: 'id', type: 'string' }]);

function problemsOf(dir: string): string[] {
  try {
    loadSchemaManifest(dir);
  } catch (error) {
    if (error instanceof ManifestError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadSchemaManifest', () => {
  it('loads the repository schemas: six task events (TaskCreated in two versions), four project events, all FULL_TRANSITIVE', () => {
    const manifest = loadSchemaManifest(repoSchemas);
    expect(manifest.subjects.map((s) => [s.eventType, s.versions.map((v) => v.version), s.compatibility])).toEqual([
      ['TaskCreated', [1, 2], 'FULL_TRANSITIVE'],
      ['TaskUpdated', [1], 'FULL_TRANSITIVE'],
      ['TaskStarted', [1], 'FULL_TRANSITIVE'],
      ['TaskCompleted', [1], 'FULL_TRANSITIVE'],
      ['TaskAbandoned', [1], 'FULL_TRANSITIVE'],
      ['TaskDeleted', [1], 'FULL_TRANSITIVE'],
      ['ProjectCreated', [1], 'FULL_TRANSITIVE'],
      ['ProjectRenamed', [1], 'FULL_TRANSITIVE'],
      ['ProjectArchived', [1], 'FULL_TRANSITIVE'],
      ['TaskAddedToProject', [1], 'FULL_TRANSITIVE'],
    ]);
    expect(manifest.subjects[0]).toMatchObject({
      topic: 'tasks.task.events',
      subject: 'tasks.task.events-tasks.task.TaskCreated',
      context: 'tasks',
    });
  });

  it('rejects a subject that does not follow TopicRecordNameStrategy', () => {
    const { dir, topic } = writeSchemaDir({ versions: [thing] });
    const manifest = { schemas: [{ schema: 'it/thing/thing-happened.v1.avsc', topic, subject: 'contract.it.Thing' }] };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    expect(problemsOf(dir)).toEqual([
      `it/thing/thing-happened.v1.avsc: subject is "contract.it.Thing" but TopicRecordNameStrategy gives "${topic}-contract.it.Thing"`,
    ]);
  });

  it('rejects versions out of order and a fixture that does not match its schema, listing both', () => {
    const { dir } = writeSchemaDir({ versions: [thing, thing] });
    const manifestPath = join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    manifest.schemas.reverse();
    writeFileSync(manifestPath, JSON.stringify(manifest));
    writeFileSync(join(dir, 'it/thing/fixtures/thing-happened.v1.json'), JSON.stringify({ id: 42 }));
    expect(problemsOf(dir)).toEqual([
      expect.stringMatching(
        /thing-happened\.v2\.avsc: expected version 1 of .* \(versions are listed oldest first, without gaps\)/,
      ),
      'it/thing/fixtures/thing-happened.v1.json: does not match it/thing/thing-happened.v1.avsc: id = 42',
    ]);
  });

  it('rejects a schema that is not valid Avro and a missing fixture', () => {
    const { dir } = writeSchemaDir({ versions: [thing, thing] });
    writeFileSync(
      join(dir, 'it/thing/thing-happened.v1.avsc'),
      JSON.stringify({ ...thing, fields: [{ name: 'id', type: 'text' }] }),
    );
    rmSync(join(dir, 'it/thing/fixtures/thing-happened.v2.json'));
    expect(problemsOf(dir)).toEqual([
      expect.stringMatching(/^it\/thing\/thing-happened\.v1\.avsc: not a valid Avro schema: .*text/),
      'it/thing/thing-happened.v2.avsc: fixture it/thing/fixtures/thing-happened.v2.json not found (every schema version needs a sample record)',
    ]);
  });

  it('rejects two compatibility levels for one subject', () => {
    const { dir } = writeSchemaDir({ versions: [thing, thing] });
    const manifestPath = join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    manifest.schemas[1].compatibility = 'BACKWARD';
    writeFileSync(manifestPath, JSON.stringify(manifest));
    expect(problemsOf(dir)).toEqual([expect.stringContaining('compatibility BACKWARD differs from FULL_TRANSITIVE')]);
  });
});
