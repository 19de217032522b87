import { join } from 'node:path';
import { checkLocally } from './check.mts';
import { loadSchemaManifest } from './manifest.mts';
import { record, writeSchemaDir } from './testing/schema-dir.mts';

describe('checkLocally', () => {
  it('passes the repository schemas: every TaskCreated reader reads every TaskCreated writer', () => {
    expect(checkLocally(loadSchemaManifest(join(__dirname, '../../../schemas')))).toEqual([]);
  });

  it('names subject, reader and writer versions and the field for a breaking second version', () => {
    const v1 = record('Thing', [{ name: 'id', type: 'string' }]);
    const v2 = record('Thing', [
      { name: 'id', type: 'string' },
      { name: 'owner', type: 'string' },
    ]);
    const { dir, subject } = writeSchemaDir({ versions: [v1, v2] });
    expect(checkLocally(loadSchemaManifest(dir))).toEqual([
      {
        subject,
        source: 'local',
        lines: [
          `${subject} (FULL_TRANSITIVE): reader v2 (it/thing/thing-happened.v2.avsc) cannot read writer v1 (it/thing/thing-happened.v1.avsc)`,
          "field 'owner' was added in v2 without a default, so v2 cannot read v1 data that lacks it",
        ],
      },
    ]);
  });

  it('holds each subject to its own level: BACKWARD does not ask old readers to read new data', () => {
    const v1 = record('Thing', [
      { name: 'id', type: 'string' },
      { name: 'count', type: 'int' },
    ]);
    const v2 = record('Thing', [{ name: 'id', type: 'string' }]);
    expect(
      checkLocally(loadSchemaManifest(writeSchemaDir({ versions: [v1, v2], compatibility: 'BACKWARD' }).dir)),
    ).toEqual([]);
    expect(
      checkLocally(loadSchemaManifest(writeSchemaDir({ versions: [v1, v2], compatibility: 'FULL' }).dir)),
    ).toHaveLength(1);
  });
});
