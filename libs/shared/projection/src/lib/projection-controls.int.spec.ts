import { createThrowawayDatabase, getTestInfra, type ThrowawayDatabase } from '@cqrs/testing';
import { Pool } from 'pg';
import { ControlsNotMigratedError, PROJECTION_CONTROLS_TABLE, ProjectionControls } from './projection-controls';

// Pause and resume as every projector instance reads them, on real PostgreSQL: before and after
// the migration that creates the table.
describe('ProjectionControls', () => {
  let db: ThrowawayDatabase;
  let pool: Pool;

  beforeAll(async () => {
    const infra = await getTestInfra();
    db = await createThrowawayDatabase(infra.postgres.adminUrl, 'stream_proj');
    pool = new Pool({ connectionString: db.url, max: 2 });
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('pauses nothing, and refuses a pause with READ_MODEL_NOT_MIGRATED, before its table exists', async () => {
    const controls = new ProjectionControls(pool);
    await expect(controls.isPaused('tasks')).resolves.toBe(false);
    await expect(controls.setPaused('tasks', true, 'ops')).rejects.toThrow(ControlsNotMigratedError);
    await expect(controls.setPaused('tasks', true, 'ops')).rejects.toMatchObject({
      code: 'READ_MODEL_NOT_MIGRATED',
      kind: 'unavailable',
    });
  });

  it('records a pause per projection, with who and when, until it is resumed', async () => {
    await db.query(`CREATE TABLE ${PROJECTION_CONTROLS_TABLE} (
      projection text PRIMARY KEY, paused boolean NOT NULL DEFAULT false, changed_by text,
      changed_at timestamptz NOT NULL DEFAULT now())`);
    const controls = new ProjectionControls(pool);
    const paused = await controls.setPaused('tasks', true, 'ops');
    expect(paused).toMatchObject({ projection: 'tasks', paused: true, changedBy: 'ops' });
    expect(paused.changedAt).toBeInstanceOf(Date);
    await expect(controls.isPaused('tasks')).resolves.toBe(true);
    await expect(controls.isPaused('projects')).resolves.toBe(false);
    await controls.setPaused('tasks', false, 'cli:root');
    await expect(controls.get('tasks')).resolves.toMatchObject({ paused: false, changedBy: 'cli:root' });
    await expect(controls.isPaused('tasks')).resolves.toBe(false);
  });
});
