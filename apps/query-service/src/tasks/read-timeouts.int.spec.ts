import { createHttpApp } from '@cqrs/http';
import { devToken, getTestInfra } from '@cqrs/testing';
import { TaskReadModelWriter } from '@cqrs/tasks-read-model';
import {
  createReadModelTestDatabase,
  taskEvents,
  taskRecord,
  type ReadModelTestDatabase,
} from '@cqrs/tasks-read-model/testing';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { AppModule } from '../app.module';
import { loadQueryServiceConfig } from '../config';

// The read pool's limits on a real database: a statement held up by a lock runs into the
// statement timeout, a request that finds the only connection busy runs into the acquire
// timeout, and both answer 503 READ_MODEL_UNAVAILABLE with Retry-After instead of a 500 or a
// queue that never drains. Caches are off so every request reads the database.
describe('query service read pool limits (HTTP, real PostgreSQL)', () => {
  const ACQUIRE_TIMEOUT_MS = 300;
  const STATEMENT_TIMEOUT_MS = 1_500;
  let db: ReadModelTestDatabase;
  let projectorPool: Pool;
  let app: INestApplication;
  let base: string;
  const taskId = randomUUID();
  let authorization: string;

  const timed = async (path: string) => {
    const started = Date.now();
    const response = await fetch(`${base}${path}`, { headers: { authorization } });
    const body = (await response.json()) as Record<string, unknown>;
    return { status: response.status, headers: response.headers, body, ms: Date.now() - started };
  };

  beforeAll(async () => {
    const infra = await getTestInfra();
    db = await createReadModelTestDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerReadUrl,
      projectorUrl: infra.postgres.readUrl,
      queryUrl: infra.postgres.queryUrl,
      prefix: 'qs_limits',
    });
    projectorPool = new Pool({ connectionString: db.projectorUrl, max: 1 });
    await new TaskReadModelWriter(projectorPool, 1).applyBatch([
      taskRecord(taskEvents(taskId, 'u-limits').created('locked'), 1),
    ]);
    authorization = `Bearer ${await devToken('u-limits')}`;
    const config = loadQueryServiceConfig({
      DATABASE_URL: db.queryUrl,
      OIDC_ISSUER_URL: infra.oidc.issuerUrl,
      OIDC_AUDIENCE: infra.oidc.audience,
      LOG_LEVEL: 'silent',
      DATABASE_POOL_SIZE: '1',
      DATABASE_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS),
      DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
      CACHE_TASK_TIME_MS: '0',
      CACHE_TASK_LIST_TIME_MS: '0',
      CACHE_USER_STATS_TIME_MS: '0',
    });
    const root = AppModule.forRoot(config);
    app = await createHttpApp(root.module, {
      service: 'query-service',
      version: 'test',
      description: 'test',
      dynamicModule: root,
    });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });

  afterAll(async () => {
    await app?.close();
    await projectorPool?.end();
    await db?.drop();
  });

  it('answers 503 READ_MODEL_UNAVAILABLE with Retry-After past the statement and acquire timeouts, 400 without waiting, and recovers', async () => {
    expect((await timed(`/tasks/${taskId}`)).status).toBe(200);
    const locker = new Client({ connectionString: db.ownerUrl });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE task_view_g1 IN ACCESS EXCLUSIVE MODE');

      const blocked = timed(`/tasks/${taskId}`); // takes the pool's only connection, then waits for the lock
      await new Promise((r) => setTimeout(r, 100));
      const queued = timed('/users/u-limits/stats'); // finds no free connection
      const hostile = await timed('/users/%00/stats'); // refused before it needs one

      expect(hostile).toMatchObject({ status: 400, body: { errors: [{ field: 'userId' }] } });
      expect(hostile.ms).toBeLessThan(ACQUIRE_TIMEOUT_MS);
      for (const [answer, atLeastMs, beforeMs] of [
        [await queued, ACQUIRE_TIMEOUT_MS, STATEMENT_TIMEOUT_MS],
        [await blocked, STATEMENT_TIMEOUT_MS, Infinity],
      ] as const) {
        expect(answer).toMatchObject({ status: 503, body: { status: 503, code: 'READ_MODEL_UNAVAILABLE' } });
        expect(answer.headers.get('retry-after')).toBe('1');
        expect(answer.headers.get('content-type')).toContain('application/problem+json');
        expect(answer.ms).toBeGreaterThanOrEqual(atLeastMs - 50);
        expect(answer.ms).toBeLessThan(beforeMs);
      }
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    expect((await timed(`/tasks/${taskId}`)).body).toMatchObject({ taskId, title: 'locked' });
  });
});
