import type { RunningProjection } from '@cqrs/projection';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { loadProjectorConfig, projectionSettings } from '../config';
import { ProjectionRunner } from '../projection/projection-runner';
import { AdminService, type AdminResources } from './admin.service';

// What the admin operations refuse before touching any server (fakes only: nothing here connects).
describe('AdminService refusals', () => {
  const config = loadProjectorConfig({});
  const unused = {} as Pool;
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const tasks = new ProjectionRunner(
    { pool: unused, kafka: {} as Kafka, decoder: {} as never, dlq: {} as never, logger },
    projectionSettings(config),
    1_000,
  );
  const projects = { name: 'projects' } as RunningProjection;
  const service = (overrides: Partial<AdminResources> = {}) =>
    new AdminService({
      config,
      projections: [tasks, projects],
      pool: unused,
      ownerPool: undefined,
      eventStore: unused,
      kafka: { admin: () => ({}) } as unknown as Kafka,
      dlq: {} as never,
      logger,
      ...overrides,
    });

  it('refuses a rebuild without the owner role (REBUILD_NOT_ENABLED), naming the variable', async () => {
    await expect(service().startRebuild('tasks', 'store')).rejects.toMatchObject({
      code: 'REBUILD_NOT_ENABLED',
      kind: 'conflict',
      message: expect.stringContaining('ADMIN_REBUILD_DATABASE_URL'),
    });
  });

  it('refuses to rebuild a stream projection, and an unknown projection', async () => {
    const owned = service({ ownerPool: unused });
    await expect(owned.startRebuild('projects', 'kafka')).rejects.toMatchObject({
      code: 'STREAM_PROJECTION_UNSUPPORTED',
      kind: 'conflict',
    });
    await expect(owned.startRebuild('nope', 'kafka')).rejects.toMatchObject({
      code: 'PROJECTION_NOT_FOUND',
      kind: 'not_found',
      message: 'No projection "nope"; known: tasks, projects',
    });
  });

  it('has no reconciliation to show before one ran', () => {
    expect(() => service().latestReconciliation()).toThrow(
      expect.objectContaining({ code: 'RECONCILIATION_NOT_FOUND', kind: 'not_found' }),
    );
  });
});
