import type { StoreEvent } from '@cqrs/event-store';
import type { Task, TaskEvent } from '@cqrs/tasks-domain';
import {
  emptyCounts,
  planBatch,
  statsDelta,
  taskProjection,
  type Checkpoint,
  type SequencedRecord,
  type StatusCounts,
} from '@cqrs/tasks-read-model';
import { taskEvents } from '@cqrs/tasks-read-model/testing';
import { UpcastError } from '@cqrs/util';
import type { Pool } from 'pg';
import { GenerationLoader, STORE_SOURCE, type FlushSet } from './generation-loader';

/** A small deterministic generator, so a failing history can be replayed. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A store history with what a store read can meet: lifecycles interleaved across streams, and
 * (rarely) a duplicate, a gap, an event the chain could not lift, and an event `evolve` refuses.
 */
function history(seed: number, streams = 40): StoreEvent[] {
  const rnd = random(seed);
  const lives = Array.from({ length: streams }, (_, i) => {
    const t = taskEvents(`task-${seed}-${i}`, `owner-${i % 5}`);
    const steps: TaskEvent[] = [
      t.created(),
      t.updated({ title: `renamed ${i}`, description: 'd' }, 1),
      t.started(),
      rnd() < 0.5 ? t.completed() : t.abandoned(),
    ];
    if (rnd() < 0.3) steps.push(t.deleted());
    if (rnd() < 0.1) steps.unshift(t.started(0)); // v1 is not a creation: evolve refuses it, the stream parks
    return { steps, next: 0, version: 0 };
  });
  const events: StoreEvent[] = [];
  let position = 100;
  while (lives.some((l) => l.next < l.steps.length)) {
    const life = lives[Math.floor(rnd() * lives.length)]!;
    if (life.next >= life.steps.length) continue;
    const event = life.steps[life.next++]!;
    const roll = rnd();
    if (roll < 0.03 && life.version > 0) {
      // a duplicate of the stream's previous version
      const previous = events.filter((e) => e.streamId === event.data.taskId).at(-1)!;
      events.push({ ...previous, globalPosition: position++ });
    }
    if (roll > 0.98) life.version++; // a version that never comes: a gap from here on
    life.version++;
    const stored: StoreEvent = {
      globalPosition: position++,
      streamId: event.data.taskId,
      version: life.version,
      type: event.type,
      schemaVersion: 1,
      data: event.data,
    };
    if (roll > 0.96 && roll <= 0.98)
      stored.upcastError = new UpcastError(event.type, 1, `no upcaster of ${event.type} from version 1 to 2`);
    events.push(stored);
  }
  return events;
}

/** The tables as the flush sets leave them, with checks that each insert is new and each update is not. */
function tables() {
  const views = new Map<string, Record<string, unknown>>();
  const checkpoints = new Map<string, Checkpoint>();
  const stats = new Map<string, StatusCounts>();
  const parked: { streamId: string | null; version: number | null; reason: string; code: string; offset: string }[] =
    [];
  return {
    views,
    checkpoints,
    stats,
    parked,
    write(set: FlushSet) {
      for (const { row, insert } of set.views) {
        expect([row['task_id'], insert]).toEqual([row['task_id'], !views.has(row['task_id'] as string)]);
        views.set(row['task_id'] as string, row);
      }
      for (const { row, insert } of set.checkpoints) {
        expect([row.stream_id, insert]).toEqual([row.stream_id, !checkpoints.has(row.stream_id)]);
        checkpoints.set(row.stream_id, { version: row.version, parked: row.parked });
      }
      for (const [owner, delta] of set.stats) {
        const c = stats.get(owner) ?? emptyCounts();
        for (const k of Object.keys(c) as (keyof StatusCounts)[]) c[k] += delta[k];
        stats.set(owner, c);
      }
      for (const p of set.parked)
        parked.push({
          streamId: p.streamId,
          version: p.version,
          reason: p.reason,
          code: p.code,
          offset: p.source.offset,
        });
    },
  };
}

/** What the live writer's rules give for the same events: planBatch batch after batch, from nothing. */
function reference(events: StoreEvent[], batchSizes: number[]) {
  const checkpoints = new Map<string, Checkpoint>();
  const states = new Map<string, Task>();
  const stats = new Map<string, StatusCounts>();
  const parked: { streamId: string | null; version: number | null; reason: string; code: string; offset: string }[] =
    [];
  let left = 0;
  let at = 0;
  for (const size of batchSizes) {
    const batch = events.slice(at, at + size);
    at += size;
    const records: SequencedRecord<TaskEvent>[] = batch.map((e) => ({
      source: {
        topic: STORE_SOURCE,
        partition: 0,
        offset: String(e.globalPosition),
        key: null,
        value: null,
        headers: {},
      },
      decoded: e.upcastError
        ? {
            ok: false,
            streamId: e.streamId,
            version: e.version,
            reason: 'UNDECODABLE',
            code: e.upcastError.code,
            message: e.upcastError.message,
          }
        : { ok: true, streamId: e.streamId, version: e.version, event: { type: e.type, data: e.data } as TaskEvent },
    }));
    const plan = planBatch(records, checkpoints, states, taskProjection);
    for (const [id, c] of plan.checkpoints) checkpoints.set(id, { version: c.version, parked: c.parked });
    for (const [id, change] of plan.changes) {
      states.set(id, change.after);
      statsDelta(change.before, change.after, stats);
    }
    for (const p of plan.parked)
      parked.push({
        streamId: p.streamId,
        version: p.version,
        reason: p.reason,
        code: p.code,
        offset: p.source.offset,
      });
    left += plan.gaps.length;
  }
  return { checkpoints, states, stats, parked, left };
}

describe('generation loader (store rebuild)', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'writes what the live writer’s rules give for the same events (history %i)',
    async (seed) => {
      const events = history(seed);
      const rnd = random(seed * 31);
      const sizes: number[] = [];
      for (let n = 0; n < events.length; ) {
        const size = 1 + Math.floor(rnd() * 25);
        sizes.push(size);
        n += size;
      }
      const loader = new GenerationLoader(undefined as unknown as Pool, 2);
      const t = tables();
      let at = 0;
      let left = 0;
      let outcomeParked = 0;
      for (const size of sizes) {
        const outcome = await loader.apply(events.slice(at, at + size));
        at += size;
        left += outcome.leftToKafka;
        outcomeParked += outcome.parked;
        if (rnd() < 0.3) t.write(loader.cut()); // flushes at arbitrary points
      }
      t.write(loader.cut());

      const ref = reference(events, sizes);
      expect(t.checkpoints).toEqual(ref.checkpoints);
      for (const [id, state] of ref.states) {
        if (state.status === 'none') expect(t.views.has(id)).toBe(false);
        else
          expect(t.views.get(id)).toMatchObject({
            task_id: id,
            status: state.status,
            title: state.title,
            updated_at: state.updatedAt,
            version: ref.checkpoints.get(id)!.version,
          });
      }
      expect(t.views.size).toBe([...ref.states.values()].filter((s) => s.status !== 'none').length);
      const nonZero = (m: Map<string, StatusCounts>) =>
        new Map([...m].filter(([, c]) => Object.values(c).some((v) => v !== 0)));
      expect(nonZero(t.stats)).toEqual(nonZero(ref.stats));
      expect(t.parked).toEqual(ref.parked);
      expect(left).toBe(ref.left);
      expect(outcomeParked).toBe(ref.parked.length);
    },
  );

  it('covers what it claims: the histories hold duplicates, gaps, poison and refused events', async () => {
    const outcomes = { applied: 0, duplicates: 0, leftToKafka: 0, parked: 0 };
    const reasons = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const loader = new GenerationLoader(undefined as unknown as Pool, 2);
      const o = await loader.apply(history(seed));
      for (const k of Object.keys(outcomes) as (keyof typeof outcomes)[]) outcomes[k] += o[k];
      for (const p of loader.cut().parked) reasons.add(p.reason);
    }
    expect(outcomes.applied).toBeGreaterThan(1000);
    expect(outcomes.duplicates).toBeGreaterThan(0);
    expect(outcomes.leftToKafka).toBeGreaterThan(0);
    expect([...reasons].sort()).toEqual(['INVARIANT_VIOLATED', 'PARKED_BEHIND', 'UNDECODABLE']);
  });

  it('parks a store event with its stream as the key and the stored event as the value', async () => {
    const loader = new GenerationLoader(undefined as unknown as Pool, 2);
    const t = taskEvents('p-1');
    const started = t.started();
    await loader.apply([
      { globalPosition: 7, streamId: 'p-1', version: 1, type: started.type, schemaVersion: 1, data: started.data },
    ]);
    const [parked] = loader.cut().parked;
    expect(parked).toMatchObject({
      streamId: 'p-1',
      version: 1,
      reason: 'INVARIANT_VIOLATED',
      source: { topic: STORE_SOURCE, partition: 0, offset: '7' },
    });
    expect(parked!.source.key?.toString()).toBe('p-1');
    expect(JSON.parse(parked!.source.value!.toString())).toEqual({
      type: 'TaskStarted',
      schemaVersion: 1,
      data: started.data,
    });
    expect(parked!.source.headers).toMatchObject({
      eventType: 'TaskStarted',
      aggregateVersion: '1',
      globalPosition: '7',
    });
  });

  it('writes a stream once per flush, as an insert the first time and an update after', async () => {
    const loader = new GenerationLoader(undefined as unknown as Pool, 2);
    const t = taskEvents('s-1', 'u-1');
    const at = (version: number, event: TaskEvent): StoreEvent => ({
      globalPosition: version,
      streamId: 's-1',
      version,
      type: event.type,
      schemaVersion: 1,
      data: event.data,
    });
    await loader.apply([at(1, t.created()), at(2, t.started())]);
    const first = loader.cut();
    expect(first.views.map((v) => [v.row['status'], v.row['version'], v.insert])).toEqual([['started', 2, true]]);
    expect(first.checkpoints).toEqual([{ row: { stream_id: 's-1', version: 2, parked: false }, insert: true }]);
    expect(first.stats).toEqual(new Map([['u-1', { ...emptyCounts(), started: 1 }]]));
    expect(loader.cut().views).toEqual([]); // nothing changed since
    await loader.apply([at(3, t.completed())]);
    const second = loader.cut();
    expect(second.views.map((v) => [v.row['status'], v.row['version'], v.insert])).toEqual([['completed', 3, false]]);
    expect(second.checkpoints).toEqual([{ row: { stream_id: 's-1', version: 3, parked: false }, insert: false }]);
    expect(second.stats).toEqual(new Map([['u-1', { ...emptyCounts(), started: -1, completed: 1 }]]));
  });
});
