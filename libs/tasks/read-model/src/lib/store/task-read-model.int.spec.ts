import { getTestInfra } from '@cqrs/testing';
import { Client, Pool } from 'pg';
import { migrateReadModel } from '../migrate';
import { replayTask } from '../projection/task-view.projection';
import { activeGeneration, GenerationAdmin } from '../schema/generations';
import { TASKS_CHANGED_CHANNEL, decodeChangeNotices } from '../notifications';
import {
  createReadModelTestDatabase,
  poisonRecord,
  taskEvents,
  taskRecord,
  type ReadModelTestDatabase,
} from '../../testing';
import { ConcurrentStreamWriteError, StreamGapError, TaskReadModelWriter } from './task-read-model.writer';
import { BatchGroupWriter } from './batch-group';
import { TaskReadRepository } from './task-read.repository';
import { RecordOverrides } from './record-overrides';

// The read model on a real PostgreSQL, reached as the roles production uses: the projector
// writes with DML only, the query side reads with SELECT only, the owner migrates.
describe('tasks read model on PostgreSQL', () => {
  let db: ReadModelTestDatabase;
  let projectorPool: Pool;
  let queryPool: Pool;
  let writer: TaskReadModelWriter;
  let reader: TaskReadRepository;

  beforeAll(async () => {
    const infra = await getTestInfra();
    db = await createReadModelTestDatabase({
      adminUrl: infra.postgres.adminUrl,
      ownerUrl: infra.postgres.ownerReadUrl,
      projectorUrl: infra.postgres.readUrl,
      queryUrl: infra.postgres.queryUrl,
    });
    projectorPool = new Pool({ connectionString: db.projectorUrl, max: 4 });
    queryPool = new Pool({ connectionString: db.queryUrl, max: 2 });
    writer = new TaskReadModelWriter(projectorPool, 1);
    reader = new TaskReadRepository(queryPool);
  });

  afterAll(async () => {
    await projectorPool?.end();
    await queryPool?.end();
    await db?.drop();
  });

  describe('migrations', () => {
    it('are idempotent: a second run applies nothing', async () => {
      expect(await migrateReadModel(db.ownerUrl)).toEqual([]);
    });

    it('let the query role read the views but not write anything', async () => {
      await expect(queryPool.query(`SELECT count(*) FROM task_view`)).resolves.toBeTruthy();
      await expect(queryPool.query(`INSERT INTO task_view_g1 (task_id) VALUES ('x')`)).rejects.toThrow(
        /permission denied/,
      );
    });

    it('leave generation 1 active', async () => {
      expect(await activeGeneration(projectorPool)).toBe(1);
    });
  });

  describe('applying batches', () => {
    it('applies a task’s history so the details equal a replay of its events', async () => {
      const e = taskEvents('t-apply', 'u-apply');
      const history = [
        e.created('Plan'),
        e.updated({ description: 'with details', dueDate: '2026-02-01' }),
        e.started(),
        e.completed(),
      ];
      const { plan } = await writer.applyBatch(history.map((event, i) => taskRecord(event, i + 1)));
      expect(plan.applied).toHaveLength(4);
      expect(await reader.findTask('t-apply')).toEqual(replayTask(history));
      expect(await reader.userStats('u-apply')).toMatchObject({
        total: 1,
        byStatus: { completed: 1, open: 0 },
        completionRate: 1,
      });
      expect((await reader.streamVersions(['t-apply', 'unknown'])).get('t-apply')).toBe(4);
    });

    it('applies redelivered records once: a replayed batch changes neither the view nor the statistics', async () => {
      const e = taskEvents('t-dup', 'u-dup');
      const records = [taskRecord(e.created(), 1), taskRecord(e.started(), 2)];
      await writer.applyBatch(records);
      const before = { view: await reader.findTask('t-dup'), stats: await reader.userStats('u-dup') };
      const { plan } = await writer.applyBatch([...records, ...records]);
      expect(plan.duplicates).toHaveLength(4);
      expect(plan.applied).toHaveLength(0);
      expect(await reader.findTask('t-dup')).toEqual(before.view);
      expect(await reader.userStats('u-dup')).toEqual(before.stats);
      expect(before.stats).toMatchObject({ total: 1, byStatus: { started: 1 } });
    });

    it('applies on the rows another writer committed while it waited for the stream (a rebalance hand-off)', async () => {
      const e = taskEvents('t-handoff', 'u-handoff');
      await writer.applyBatch([taskRecord(e.created('Before'), 1)]);
      // The previous owner of the partition is mid-batch: it holds the stream and has written v2.
      const previous = await projectorPool.connect();
      try {
        await previous.query('BEGIN');
        await previous.query(`SELECT 1 FROM stream_checkpoints_g1 WHERE stream_id = 't-handoff' FOR UPDATE`);
        await previous.query(`UPDATE task_view_g1 SET title = 'After', version = 2 WHERE task_id = 't-handoff'`);
        await previous.query(`UPDATE stream_checkpoints_g1 SET version = 2 WHERE stream_id = 't-handoff'`);
        // The new owner applies v3 and has to wait for the stream.
        const next = new TaskReadModelWriter(projectorPool, 1).applyBatch([taskRecord(e.started(), 3)]);
        // (Asked on another connection: a transaction sees one snapshot of pg_stat_activity.)
        await waitFor(async () => {
          const { rows } = await projectorPool.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          return Number(rows[0]!.n) > 0;
        });
        await previous.query('COMMIT');
        const { plan } = await next;
        expect(plan.applied).toHaveLength(1);
      } finally {
        previous.release();
      }
      // v3 lands on v2's row: the rename is kept, not overwritten with the row read before the wait.
      expect(await reader.findTask('t-handoff')).toMatchObject({ title: 'After', status: 'started', version: 3 });
    });

    it('rolls back a batch with a gap, then parks the gap (and what follows) when told to', async () => {
      const e = taskEvents('t-gap', 'u-gap');
      const other = taskEvents('t-gap-other', 'u-gap');
      await writer.applyBatch([taskRecord(e.created(), 1)]);
      const batch = [taskRecord(other.created(), 1), taskRecord(e.completed(), 3), taskRecord(e.deleted(), 4)];
      await expect(writer.applyBatch(batch)).rejects.toBeInstanceOf(StreamGapError);
      expect(await reader.findTask('t-gap-other')).toBeUndefined(); // nothing of the batch committed

      const { plan } = await writer.applyBatch(batch, { parkGaps: true, attempts: 4 });
      expect(plan.parked.map((p) => p.reason)).toEqual(['GAP', 'PARKED_BEHIND']);
      expect(await reader.findTask('t-gap-other')).toMatchObject({ version: 1 });
      expect(await reader.findTask('t-gap')).toMatchObject({ version: 1, status: 'open' });
      const parked = await writer.parked.list({ streamId: 't-gap' });
      expect(parked.map((p) => [p.reason, p.aggregateVersion, p.attempts])).toEqual([
        ['GAP', 3, 4],
        ['PARKED_BEHIND', 4, 4],
      ]);
    });

    it('parks a poison record and everything behind it, keeps other streams flowing, and redrives in order', async () => {
      const e = taskEvents('t-poison', 'u-poison');
      const other = taskEvents('t-flowing', 'u-poison');
      const poison = poisonRecord('t-poison', 2);
      const completed = taskRecord(e.completed(), 3);
      const deleted = taskRecord(e.deleted(), 4);
      await writer.applyBatch([
        taskRecord(e.created(), 1),
        poison,
        taskRecord(other.created(), 1),
        completed,
        taskRecord(other.started(), 2),
      ]);
      await writer.applyBatch([deleted]); // a later batch: parked behind as well
      expect(await reader.findTask('t-poison')).toMatchObject({ status: 'open', version: 1 });
      expect(await reader.findTask('t-flowing')).toMatchObject({ status: 'started', version: 2 });
      expect((await writer.parked.streams()).find((s) => s.streamId === 't-poison')).toMatchObject({
        count: 3,
        reason: 'UNKNOWN_SCHEMA',
      });

      // What a redrive decodes: the stored bytes, or an operator's corrected value for the head.
      const stored = new Map([completed, deleted].map((r) => [r.source.offset, r]));
      const decode = async (source: typeof poison.source) => {
        if (source.offset !== poison.source.offset) return { ...stored.get(source.offset)!, source };
        if (source.value?.toString() === 'fixed')
          return { source, decoded: { ok: true as const, streamId: 't-poison', version: 2, event: e.started() } };
        return { ...poison, source };
      };

      const failing = await writer.redriveStream('t-poison', decode);
      expect(failing).toMatchObject({ released: 0, stillParked: 3, error: { code: 'UNKNOWN_SCHEMA_ID' } });
      expect((await writer.parked.list({ streamId: 't-poison' }))[0]!.attempts).toBe(2);
      expect(await reader.findTask('t-poison')).toMatchObject({ version: 1 });

      const fixed = await writer.redriveStream('t-poison', decode, Buffer.from('fixed'));
      expect(fixed).toEqual({ streamId: 't-poison', released: 3, stillParked: 0 });
      expect(await reader.findTask('t-poison')).toEqual(
        replayTask([e.created(), e.started(), e.completed(), e.deleted()]),
      );
      expect(await writer.parked.list({ streamId: 't-poison' })).toEqual([]);
      // The correction is kept by position, for rebuilds that meet the poison again.
      const fixes = await new RecordOverrides(projectorPool).forRange(
        poison.source.topic,
        0,
        poison.source.offset,
        poison.source.offset,
      );
      expect(fixes.get(poison.source.offset)?.toString()).toBe('fixed');
      expect(await reader.userStats('u-poison')).toMatchObject({ total: 1, byStatus: { started: 1 }, deleted: 1 });
    });

    it('stores text exactly as the events carry it, whatever quotes, backslashes or array syntax it holds', async () => {
      // Batches go to PostgreSQL as SQL literals (simple protocol, one round trip with BEGIN or COMMIT).
      const awkward = `It's "quoted" \\ back\\slashed {a,b} NULL, 'x'); DROP TABLE task_view_g1; -- ünïcødé ✓\nnew line`;
      const taskId = `t-awkward-'"\\{}`;
      const owner = `u-awkward "${awkward.slice(0, 10)}"`;
      const e = taskEvents(taskId, owner);
      const history = [e.created(awkward), e.updated({ description: awkward, title: 'NULL' })];
      await writer.applyBatch(history.map((event, i) => taskRecord(event, i + 1)));
      expect(await reader.findTask(taskId)).toEqual(replayTask(history));
      expect(await reader.findTask(taskId)).toMatchObject({ title: 'NULL', description: awkward, ownerId: owner });
      expect(await reader.userStats(owner)).toMatchObject({ total: 1 });
    });

    it('lets exactly one of two concurrent writers create a new stream; the loser retries onto the winner’s state', async () => {
      const e = taskEvents('t-race', 'u-race');
      const records = [taskRecord(e.created(), 1)];
      const outcomes = await Promise.allSettled([writer.applyBatch(records), writer.applyBatch(records)]);
      const failures = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
      for (const f of failures) expect(f.reason).toBeInstanceOf(ConcurrentStreamWriteError);
      // the retry of a loser finds the stream applied and counts a duplicate
      const retry = await writer.applyBatch(records);
      expect(retry.plan.duplicates).toHaveLength(1);
      expect(await reader.userStats('u-race')).toMatchObject({ total: 1, byStatus: { open: 1 } });
    });

    it('notifies tasks_changed with stream, version and owner only once the transaction committed', async () => {
      const listener = new Client({ connectionString: db.queryUrl });
      await listener.connect();
      try {
        const received: string[] = [];
        listener.on('notification', (n) => received.push(n.payload ?? ''));
        await listener.query(`LISTEN ${TASKS_CHANGED_CHANNEL}`);
        const e = taskEvents('t-notify', 'u-notify');
        const gap = taskEvents('t-notify-gap', 'u-notify');
        // The batch parks a record (a gap), so its DLQ hook runs before COMMIT; the hook fails.
        await expect(
          writer.applyBatch([taskRecord(e.created(), 1), taskRecord(gap.started(), 2)], {
            parkGaps: true,
            beforeCommit: () => Promise.reject(new Error('DLQ unreachable')),
          }),
        ).rejects.toThrow('DLQ unreachable');
        expect(await reader.findTask('t-notify')).toBeUndefined();
        expect(await writer.parked.list({ streamId: 't-notify-gap' })).toEqual([]);
        await writer.applyBatch([taskRecord(e.created(), 1), taskRecord(e.started(), 2)]);
        await waitFor(() => received.length > 0);
        expect(received.map((p) => decodeChangeNotices(p))).toEqual([
          { generation: 1, changes: [{ streamId: 't-notify', version: 2, ownerId: 'u-notify' }] },
        ]);
      } finally {
        await listener.end();
      }
    });
  });

  describe('batches of several partitions (group commit)', () => {
    const at = (topic: string, partition: number, offset: string) => ({ topic, partition, offset });
    const positionsOf = async (topic: string) =>
      (
        await projectorPool.query<{ partition: number; last_offset: string; applied_at: Date }>(
          `SELECT partition, last_offset, applied_at FROM partition_positions_g1 WHERE topic = $1 ORDER BY partition`,
          [topic],
        )
      ).rows;

    it('applies batches handed over together in one transaction and gives each caller its own outcome', async () => {
      const group = new BatchGroupWriter(writer);
      const a = taskEvents('t-group-a', 'u-group');
      const b = taskEvents('t-group-b', 'u-group');
      const fromA = [
        taskRecord(a.created(), 1, at('grouped', 0, '7')),
        taskRecord(a.started(), 2, at('grouped', 0, '8')),
      ];
      const fromB = [taskRecord(b.created(), 1, at('grouped', 1, '3'))];
      const [outA, outB] = await Promise.all([
        group.applyBatch(fromA, { positions: [at('grouped', 0, '8')] }),
        group.applyBatch(fromB, { positions: [at('grouped', 1, '3')] }),
      ]);
      expect(outA.plan.applied.map((r) => r.source.offset)).toEqual(['7', '8']);
      expect(outA.notices).toEqual([{ streamId: 't-group-a', version: 2, ownerId: 'u-group' }]);
      expect(outB.plan.applied.map((r) => r.source.offset)).toEqual(['3']);
      expect(outB.notices).toEqual([{ streamId: 't-group-b', version: 1, ownerId: 'u-group' }]);
      expect(await reader.findTask('t-group-a')).toEqual(replayTask([a.created(), a.started()]));
      expect(await reader.findTask('t-group-b')).toEqual(replayTask([b.created()]));
      // One transaction: both positions carry the same transaction timestamp (now()).
      const positions = await positionsOf('grouped');
      expect(positions.map((p) => [p.partition, p.last_offset])).toEqual([
        [0, '8'],
        [1, '3'],
      ]);
      expect(positions[0]!.applied_at.getTime()).toBe(positions[1]!.applied_at.getTime());
      // Redelivered together: each caller sees only its own duplicates.
      const [againA, againB] = await Promise.all([group.applyBatch(fromA), group.applyBatch(fromB)]);
      expect([againA.plan.duplicates.length, againB.plan.duplicates.length]).toEqual([2, 1]);
    });

    it('does not let one partition’s gap hold back the others', async () => {
      const group = new BatchGroupWriter(writer);
      const gap = taskEvents('t-group-gap', 'u-group2');
      const ok = taskEvents('t-group-ok', 'u-group2');
      const [gapped, fine] = await Promise.allSettled([
        group.applyBatch([taskRecord(gap.started(), 2, at('gapped', 0, '1'))]),
        group.applyBatch([taskRecord(ok.created(), 1, at('gapped', 1, '1'))], { positions: [at('gapped', 1, '1')] }),
      ]);
      expect(gapped.status === 'rejected' && gapped.reason).toBeInstanceOf(StreamGapError);
      expect(fine).toMatchObject({ status: 'fulfilled' });
      expect(await reader.findTask('t-group-ok')).toEqual(replayTask([ok.created()]));
      expect(await reader.findTask('t-group-gap')).toBeUndefined();
    });
  });

  describe('a user’s task list', () => {
    beforeAll(async () => {
      // 7 tasks of one user, created a minute apart; 2 started, 1 deleted.
      const records = [];
      for (let i = 0; i < 7; i++) {
        const e = taskEvents(`t-list-${i}`, 'u-list', new Date(Date.UTC(2025, 0, 1, 9, i)).toISOString());
        records.push(taskRecord(e.created(`task ${i}`), 1));
        if (i === 2 || i === 4) records.push(taskRecord(e.started(), 2));
        if (i === 5) records.push(taskRecord(e.deleted(), 2));
      }
      await writer.applyBatch(records);
    });

    it('pages newest first with a cursor, never repeating or skipping a task, deleted ones left out', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await reader.listUserTasks('u-list', { limit: 2, cursor });
        seen.push(...page.items.map((t) => t.taskId));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      expect(seen).toEqual(['t-list-6', 't-list-4', 't-list-3', 't-list-2', 't-list-1', 't-list-0']);
      expect(pages).toBe(3);
    });

    it('filters by status', async () => {
      const page = await reader.listUserTasks('u-list', { status: 'started', limit: 10 });
      expect(page.items.map((t) => t.taskId)).toEqual(['t-list-4', 't-list-2']);
      expect(page.nextCursor).toBeNull();
    });

    it('counts statuses for the user', async () => {
      expect(await reader.userStats('u-list')).toEqual({
        ownerId: 'u-list',
        total: 6,
        byStatus: { open: 4, started: 2, completed: 0, abandoned: 0 },
        deleted: 1,
        completionRate: 0,
      });
    });
  });

  describe('generations', () => {
    it('builds a new generation beside the active one and switches queries to it in one step', async () => {
      const ownerPool = new Pool({ connectionString: db.ownerUrl, max: 2 });
      try {
        const admin = new GenerationAdmin(ownerPool);
        const generation = await admin.startBuilding();
        expect(generation).toBe(2);
        const next = new TaskReadModelWriter(projectorPool, generation, false);
        const e = taskEvents('t-gen', 'u-gen');
        await next.applyBatch([taskRecord(e.created('only in generation 2'), 1)]);
        expect(await reader.findTask('t-gen')).toBeUndefined(); // queries still read generation 1
        expect(await reader.findTask('t-apply')).toBeDefined();

        await admin.createIndexes(generation);
        expect(await admin.activate(generation)).toEqual({ previous: 1 });
        expect(await activeGeneration(projectorPool)).toBe(2);
        expect(await reader.findTask('t-gen')).toMatchObject({ title: 'only in generation 2' });
        expect(await reader.findTask('t-apply')).toBeUndefined();

        // The previous generation is kept once, then dropped by the next rebuild's clean-up.
        expect(await admin.dropRetired(1)).toEqual([]);
        expect(await admin.dropRetired(0)).toEqual([1]);
        await expect(projectorPool.query(`SELECT 1 FROM task_view_g1`)).rejects.toThrow(/does not exist/);
      } finally {
        await ownerPool.end();
      }
    });
  });
});

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
