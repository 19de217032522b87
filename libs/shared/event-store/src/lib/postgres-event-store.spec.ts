import { DatabaseError } from 'pg';
import type { DataSource } from 'typeorm';
import type { CounterEvent } from '../testing';
import { EventStoreUnavailableError } from './event-store.errors';
import type { NewEvent } from './event-store.types';
import { AppendFailedError, PostgresEventStore } from './postgres-event-store';

/**
 * A pool whose group-commit calls wait until the test answers them: each call is recorded with
 * the stream ids it carries, and answered (every append stored) or failed on the test's word.
 */
function heldPool() {
  const calls: { streams: string[]; answer(): void; fail(error: unknown): void }[] = [];
  const query = ({ values }: { values: unknown[] }) =>
    new Promise((resolve, reject) => {
      const streams = values[0] as string[];
      calls.push({
        streams,
        answer: () =>
          resolve({
            rows: streams.map((_, i) => ({
              append_index: i + 1,
              global_positions: ['1'],
              error_code: null,
              error_message: null,
              error_constraint: null,
            })),
          }),
        fail: reject,
      });
    });
  const dataSource = { driver: { master: { query } } } as unknown as DataSource;
  const call = (index: number) => {
    const found = calls.at(index);
    if (!found) throw new Error(`no call #${index} (of ${calls.length})`);
    return found;
  };
  return { dataSource, calls, call };
}

const added: NewEvent<CounterEvent>[] = [{ type: 'Added', data: { amount: 1 } }];
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('PostgresEventStore group commit (fake pool)', () => {
  it('sheds an append with EVENT_STORE_UNAVAILABLE (503, Retry-After) when maxQueuedAppends are waiting, and takes appends again once they drain', async () => {
    const { dataSource, calls, call } = heldPool();
    const store = new PostgresEventStore(dataSource, { appendsInFlight: 1, maxQueuedAppends: 2 });
    const append = (id: string) => store.appendToStream(id, added, { streamType: 'test.counter', expectedVersion: 0 });

    const inFlight = append('a');
    await settle();
    const queued = [append('b'), append('c')];
    await settle();
    const shed = await append('d').catch((error: unknown) => error);
    expect(shed).toBeInstanceOf(EventStoreUnavailableError);
    expect(shed).toMatchObject({ code: 'EVENT_STORE_UNAVAILABLE', httpStatus: 503, headers: { 'Retry-After': '1' } });
    expect(calls.map((c) => c.streams)).toEqual([['a']]);

    call(0).answer();
    await settle();
    expect(calls.map((c) => c.streams)).toEqual([['a'], ['b', 'c']]);
    call(1).answer();
    await expect(Promise.all([inFlight, ...queued])).resolves.toHaveLength(3);

    const again = append('e');
    await settle();
    call(2).answer();
    await expect(again).resolves.toMatchObject({ nextExpectedVersion: 1 });
  });

  it('retries the members of a batch PostgreSQL refused as a whole one by one, so only the culprit fails', async () => {
    const { dataSource, calls, call } = heldPool();
    const store = new PostgresEventStore(dataSource, { appendsInFlight: 1 });
    const append = (id: string) => store.appendToStream(id, added, { streamType: 'test.counter', expectedVersion: 0 });
    const refused = () =>
      Object.assign(new DatabaseError('unsupported Unicode escape sequence', 0, 'error'), { code: '22P05' });

    const results = ['first', 'good', 'bad', 'also-good'].map((id) => append(id).catch((error: unknown) => error));
    await settle();
    call(0).answer();
    await settle();
    expect(call(1).streams).toEqual(['good', 'bad', 'also-good']);
    call(1).fail(refused());
    for (const id of ['good', 'bad', 'also-good']) {
      await settle();
      const last = call(-1);
      expect(last.streams).toEqual([id]);
      if (id === 'bad') last.fail(refused());
      else last.answer();
    }
    const [first, good, bad, alsoGood] = await Promise.all(results);
    expect([first, good, alsoGood]).toEqual(Array(3).fill(expect.objectContaining({ nextExpectedVersion: 1 })));
    expect(bad).toBeInstanceOf(AppendFailedError);
    expect(bad).toMatchObject({ code: '22P05', message: 'unsupported Unicode escape sequence' });
    expect(calls.map((c) => c.streams)).toEqual([
      ['first'],
      ['good', 'bad', 'also-good'],
      ['good'],
      ['bad'],
      ['also-good'],
    ]);
  });

  it('fails every member of a batch whose connection broke (its fate is unknown): 503, no retries', async () => {
    const { dataSource, calls, call } = heldPool();
    const store = new PostgresEventStore(dataSource, { appendsInFlight: 1 });
    const append = (id: string) => store.appendToStream(id, added, { streamType: 'test.counter', expectedVersion: 0 });

    const results = ['first', 'x', 'y'].map((id) => append(id).catch((error: unknown) => error));
    await settle();
    call(0).answer();
    await settle();
    call(1).fail(Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' }));
    const [, x, y] = await Promise.all(results);
    expect(x).toBeInstanceOf(EventStoreUnavailableError);
    expect(y).toBeInstanceOf(EventStoreUnavailableError);
    expect(calls).toHaveLength(2);
  });
});
