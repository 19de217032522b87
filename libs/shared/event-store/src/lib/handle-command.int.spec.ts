// Integration tests take their servers from @cqrs/testing; the tag matrix has no spec-file exception yet.
import { getTestInfra } from '@cqrs/testing';
import { randomUUID } from 'node:crypto';
import {
  type CounterCommand,
  type CounterEvent,
  type CounterState,
  counterDecider,
  createEventStoreTestDatabase,
  fakeWireEncoder,
} from '../testing';
import { ConcurrencyError, IdempotencyKeyReusedError } from './event-store.errors';
import { LruAggregateCache } from './aggregate-cache';
import { handleCommand, type HandleCommandOptions } from './handle-command';
import { hashRequest } from './idempotency';
import { PostgresEventStore } from './postgres-event-store';

type Db = Awaited<ReturnType<typeof createEventStoreTestDatabase>>;
let db: Db;
let store: PostgresEventStore;

beforeAll(async () => {
  const infra = await getTestInfra();
  db = await createEventStoreTestDatabase({
    adminUrl: infra.postgres.adminUrl,
    ownerUrl: infra.postgres.ownerWriteUrl,
  });
  store = new PostgresEventStore(db.dataSource);
});
afterAll(() => db?.drop());

type Response = { status: number; body: { total: number; version: number } };
const add = (amount: number): CounterCommand => ({ type: 'Add', amount });
const run = (
  streamId: string,
  command: CounterCommand,
  extra: Partial<HandleCommandOptions<CounterState, CounterCommand, CounterEvent, Response>> = {},
) =>
  handleCommand<CounterState, CounterCommand, CounterEvent, Response>(store, {
    streamId,
    streamType: 'test.counter',
    decider: counterDecider,
    command,
    stateSchemaVersion: 1,
    outbox: { aggregateType: 'test.counter', encode: fakeWireEncoder() },
    respond: ({ state, version }) => ({ status: 200, body: { total: state.total, version } }),
    ...extra,
  });
const eventCount = async (streamId: string) =>
  Number((await db.dataSource.query('SELECT count(*) AS n FROM events WHERE stream_id = $1', [streamId]))[0].n);
const idem = (key: string, body: unknown) => ({ scope: 'POST /counters', key, requestHash: hashRequest(body) });

describe('handleCommand', () => {
  it('loads, decides and appends, answering with the new state and version', async () => {
    const id = randomUUID();
    await run(id, add(2));
    const result = await run(id, add(3));
    expect(result).toMatchObject({
      replayed: false,
      version: 2,
      events: [{ type: 'Added', data: { amount: 3 } }],
      state: { total: 5, count: 2 },
      response: { status: 200, body: { total: 5, version: 2 } },
    });
    expect(await store.readStream(id)).toHaveLength(2);
  });

  it('appends nothing when the decider records nothing', async () => {
    const id = randomUUID();
    await run(id, add(1));
    const result = await run(id, add(1), { decider: { ...counterDecider, decide: () => [] } });
    expect(result).toMatchObject({ replayed: false, version: 1, events: [] });
    expect(await eventCount(id)).toBe(1);
  });

  it('fails with 412 VERSION_MISMATCH when the If-Match version is stale, and appends nothing', async () => {
    const id = randomUUID();
    await run(id, add(1));
    await run(id, add(1));
    const error = await run(id, add(1), { expectedVersion: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toMatchObject({
      code: 'VERSION_MISMATCH',
      kind: 'precondition',
      httpStatus: 412,
      expectedVersion: 1,
      actualVersion: 2,
    });
    expect(await eventCount(id)).toBe(2);
    await expect(run(id, add(1), { expectedVersion: 2 })).resolves.toMatchObject({ version: 3 });
  });

  it('retries lost races on fresh state when the client pinned no version', async () => {
    const id = randomUUID();
    await run(id, add(0));
    const results = await Promise.all(Array.from({ length: 10 }, () => run(id, add(1), { conflictRetries: 30 })));
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect((await store.aggregateStream(id, counterDecider)).state.total).toBe(10);
  });

  it('answers 409 CONCURRENCY_CONFLICT when races are lost and retries are exhausted', async () => {
    const id = randomUUID();
    await run(id, add(0));
    const settled = await Promise.allSettled(Array.from({ length: 10 }, () => run(id, add(1), { conflictRetries: 0 })));
    const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) expect(f.reason).toMatchObject({ code: 'CONCURRENCY_CONFLICT', httpStatus: 409 });
    expect(await eventCount(id)).toBe(1 + settled.length - failures.length);
  });
});

describe('handleCommand: idempotency', () => {
  it('replays the stored response for a repeat with the same key and body, appending nothing', async () => {
    const id = randomUUID();
    const key = randomUUID();
    const first = await run(id, add(5), { idempotency: idem(key, { amount: 5 }) });
    await run(id, add(1)); // the stream moves on; the replay must still show the first answer
    const repeat = await run(id, add(5), { idempotency: idem(key, { amount: 5 }) });

    expect(first).toMatchObject({ replayed: false, version: 1 });
    expect(repeat).toEqual({ replayed: true, version: 1, response: first.response });
    expect(await eventCount(id)).toBe(2);
  });

  it('treats a reordered but equal JSON body as the same request', async () => {
    const id = randomUUID();
    const key = randomUUID();
    await run(id, add(5), { idempotency: idem(key, { amount: 5, note: 'x' }) });
    const repeat = await run(id, add(5), { idempotency: idem(key, { note: 'x', amount: 5 }) });
    expect(repeat.replayed).toBe(true);
  });

  it('rejects the same key with a different body as 422 IDEMPOTENCY_KEY_REUSED, appending nothing', async () => {
    const id = randomUUID();
    const key = randomUUID();
    await run(id, add(5), { idempotency: idem(key, { amount: 5 }) });
    const error = await run(id, add(6), { idempotency: idem(key, { amount: 6 }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', kind: 'unprocessable', httpStatus: 422 });
    expect(await eventCount(id)).toBe(1);
  });

  it('scopes keys: the same key in another scope is a new request', async () => {
    const id = randomUUID();
    const key = randomUUID();
    await run(id, add(1), { idempotency: idem(key, {}) });
    const other = await run(id, add(1), { idempotency: { ...idem(key, {}), scope: 'POST /other' } });
    expect(other).toMatchObject({ replayed: false, version: 2 });
  });

  it('remembers an accepted command that changed nothing', async () => {
    const id = randomUUID();
    const key = randomUUID();
    await run(id, add(1));
    const noop = { ...counterDecider, decide: () => [] };
    const first = await run(id, add(1), { decider: noop, idempotency: idem(key, 'noop') });
    const repeat = await run(id, add(1), { idempotency: idem(key, 'noop') });
    expect(first).toMatchObject({ replayed: false, version: 1 });
    expect(repeat).toEqual({ replayed: true, version: 1, response: first.response });
    expect(await eventCount(id)).toBe(1);
  });

  it('lets exactly one of many concurrent duplicates append; the others get its response', async () => {
    const id = randomUUID();
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, () => run(id, add(7), { idempotency: idem(key, 7) })));
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    for (const r of results) expect(r.response).toEqual({ status: 200, body: { total: 7, version: 1 } });
    expect(await eventCount(id)).toBe(1);
  });

  it('also when each duplicate would create a different stream (a create with a server-generated id)', async () => {
    const key = randomUUID();
    const ids = Array.from({ length: 5 }, () => randomUUID());
    const results = await Promise.all(ids.map((id) => run(id, add(1), { idempotency: idem(key, 'create') })));
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    const counts = await Promise.all(ids.map(eventCount));
    expect(counts.sort()).toEqual([0, 0, 0, 0, 1]);
  });

  it('forgets a key once it expires, and purges expired keys', async () => {
    const id = randomUUID();
    const key = randomUUID();
    const live = randomUUID();
    await run(id, add(1), { idempotency: { ...idem(key, 1), ttlMs: 300 } });
    await run(id, add(1), { idempotency: idem(live, 1) });
    await new Promise((resolve) => setTimeout(resolve, 400));

    const reused = await run(id, add(2), { idempotency: { ...idem(key, 2), ttlMs: 300 } });
    expect(reused).toMatchObject({ replayed: false, version: 3 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await store.purgeExpiredIdempotencyKeys()).toBeGreaterThanOrEqual(1);
    const left = await db.dataSource.query('SELECT key FROM idempotency_keys WHERE key = ANY($1)', [[key, live]]);
    expect(left).toEqual([{ key: live }]);
  });
});

describe('handleCommand: the aggregate cache, with two instances writing one stream', () => {
  /** One command-service replica: its own cache, the shared database, a count of its loads. */
  const instance = () => {
    const cache = new LruAggregateCache({ max: 100 });
    const loads = { count: 0 };
    const counted: PostgresEventStore = Object.create(store, {
      aggregateStream: {
        value: (...args: Parameters<PostgresEventStore['aggregateStream']>) => (
          loads.count++,
          store.aggregateStream(...args)
        ),
      },
    });
    const exec = (
      streamId: string,
      command: CounterCommand,
      extra: Partial<HandleCommandOptions<CounterState, CounterCommand, CounterEvent, Response>> = {},
    ) =>
      handleCommand<CounterState, CounterCommand, CounterEvent, Response>(counted, {
        streamId,
        streamType: 'test.counter',
        decider: counterDecider,
        command,
        stateSchemaVersion: 1,
        outbox: { aggregateType: 'test.counter', encode: fakeWireEncoder() },
        respond: ({ state, version }) => ({ status: 200, body: { total: state.total, version } }),
        cache,
        ...extra,
      });
    return { exec, loads };
  };

  it('skips the load for a stream the instance wrote last', async () => {
    const a = instance();
    const id = randomUUID();
    await a.exec(id, add(1), { newStream: true });
    await a.exec(id, add(2));
    await a.exec(id, add(3));
    expect(a.loads.count).toBe(0);
    expect((await store.aggregateStream(id, counterDecider)).state.total).toBe(6);
  });

  it('loses no update when another instance wrote since: the stale entry fails the guard and is reloaded', async () => {
    const [a, b] = [instance(), instance()];
    const id = randomUUID();
    await a.exec(id, add(1), { newStream: true });
    await b.exec(id, add(10));
    await b.exec(id, add(100));
    const result = await a.exec(id, add(1000));
    expect(result).toMatchObject({ version: 4, response: { body: { total: 1111, version: 4 } } });
    expect(await eventCount(id)).toBe(4);
    expect((await store.aggregateStream(id, counterDecider)).state.total).toBe(1111);
  });

  it('never rejects a command on stale state: it decides again on the stored stream', async () => {
    const [a, b] = [instance(), instance()];
    const id = randomUUID();
    await a.exec(id, add(5), { newStream: true }); // a caches total 5
    await b.exec(id, { type: 'Reset' }); // the total is 0 now
    // On a's stale state 5 + 8 > 10 would be rejected; on the stored one it is allowed.
    const result = await a.exec(id, { type: 'AddUpTo', amount: 8, max: 10 });
    expect(result).toMatchObject({ version: 3, response: { body: { total: 8, version: 3 } } });
    // and a rejection on current state still comes through
    await expect(a.exec(id, { type: 'AddUpTo', amount: 3, max: 10 })).rejects.toThrow('OVER_MAX: 8 + 3 > 10');
  });

  it('answers a no-op with the stored version, not the cached one', async () => {
    const [a, b] = [instance(), instance()];
    const id = randomUUID();
    await a.exec(id, add(1), { newStream: true });
    await b.exec(id, add(1));
    await expect(a.exec(id, { type: 'Touch' })).resolves.toMatchObject({ version: 2, events: [] });
  });

  it('checks If-Match against the stored version when the cached one differs', async () => {
    const [a, b] = [instance(), instance()];
    const id = randomUUID();
    await a.exec(id, add(1), { newStream: true }); // a caches version 1
    await b.exec(id, add(1)); // the client saw version 2 from b
    await expect(a.exec(id, add(1), { expectedVersion: 2 })).resolves.toMatchObject({ version: 3 });
    await expect(a.exec(id, add(1), { expectedVersion: 2 })).rejects.toMatchObject({
      code: 'VERSION_MISMATCH',
      actualVersion: 3,
    });
  });

  it('treats a newStream hint on an existing stream as a lost race and decides on the stored stream', async () => {
    const a = instance();
    const id = randomUUID();
    await run(id, add(4));
    await expect(a.exec(id, add(1), { newStream: true })).resolves.toMatchObject({
      version: 2,
      response: { body: { total: 5, version: 2 } },
    });
    expect(await eventCount(id)).toBe(2);
  });
});
