import { counterDecider, type CounterCommand, type CounterEvent, type CounterState } from '../testing';
import { ConcurrencyError, IdempotencyKeyInUseError } from './event-store.errors';
import type { AppendResult, StoredResponse } from './event-store.types';
import { handleCommand } from './handle-command';
import type { EventStore } from './postgres-event-store';

/** A scripted store: loads a fixed state, fails appends as told, counts calls. No I/O. */
function scriptedStore(script: {
  version?: number;
  appendFailures?: unknown[];
  stored?: (StoredResponse | undefined)[];
}) {
  const calls = { load: 0, append: 0, lookup: 0, storedResponses: [] as unknown[] };
  const failures = [...(script.appendFailures ?? [])];
  const stored = [...(script.stored ?? [])];
  const store: EventStore = {
    readStream: () => Promise.resolve([]),
    streamVersion: () => Promise.resolve(script.version ?? 0),
    purgeExpiredIdempotencyKeys: () => Promise.resolve(0),
    aggregateStream: <S>() => {
      calls.load += 1;
      return Promise.resolve({
        state: counterDecider.initialState() as S,
        version: script.version ?? 0,
        snapshotVersion: 0,
      });
    },
    appendToStream: (_id, events, options): Promise<AppendResult> => {
      calls.append += 1;
      const failure = failures.shift();
      if (failure) return Promise.reject(failure);
      const result = {
        nextExpectedVersion: options.expectedVersion + events.length,
        globalPositions: events.map((_, i) => 100 + i),
        eventIds: [],
        snapshotWritten: false,
      };
      // Like the real store: the idempotency record is written with the append.
      if (options.idempotency) calls.storedResponses.push(options.idempotency.response(result));
      return Promise.resolve(result);
    },
    findIdempotentResponse: () => {
      calls.lookup += 1;
      return Promise.resolve(stored.shift());
    },
  };
  return { store, calls };
}

const run = (
  store: EventStore,
  extra: { expectedVersion?: number; idempotency?: boolean; conflictRetries?: number } = {},
) =>
  handleCommand<CounterState, CounterCommand, CounterEvent>(store, {
    streamId: 's',
    streamType: 'test.counter',
    decider: counterDecider,
    command: { type: 'Add', amount: 1 },
    expectedVersion: extra.expectedVersion,
    conflictRetries: extra.conflictRetries,
    idempotency: extra.idempotency ? { scope: 'x', key: 'k', requestHash: 'h' } : undefined,
  });

describe('handleCommand: a stream the caller may not see', () => {
  const hiddenRun = (store: EventStore, command: CounterCommand, expectedVersion?: number) =>
    handleCommand<CounterState, CounterCommand, CounterEvent>(store, {
      streamId: 's',
      streamType: 'test.counter',
      decider: counterDecider,
      command,
      expectedVersion,
      conflictRetries: 0,
      visible: () => false,
    });

  it('is decided as a stream that does not exist: an If-Match names version 0, not the stored one', async () => {
    const { store, calls } = scriptedStore({ version: 4 });
    await expect(hiddenRun(store, { type: 'Touch' }, 3)).rejects.toMatchObject({
      code: 'VERSION_MISMATCH',
      actualVersion: 0,
    });
    expect(calls.append).toBe(0);
  });

  it('never appends to it: what an empty stream would accept is the conflict an existing one meets', async () => {
    const { store, calls } = scriptedStore({ version: 4 });
    await expect(hiddenRun(store, { type: 'Add', amount: 1 })).rejects.toMatchObject({ code: 'CONCURRENCY_CONFLICT' });
    expect(calls.append).toBe(0);
  });
});

describe('handleCommand (decision logic)', () => {
  it('answers with the new version by default', async () => {
    const { store } = scriptedStore({ version: 4 });
    await expect(run(store)).resolves.toMatchObject({
      replayed: false,
      version: 5,
      response: { version: 5 },
      globalPositions: [100],
    });
  });

  it('rejects a stale If-Match before deciding or appending', async () => {
    const { store, calls } = scriptedStore({ version: 4 });
    await expect(run(store, { expectedVersion: 3 })).rejects.toMatchObject({
      code: 'VERSION_MISMATCH',
      httpStatus: 412,
    });
    expect(calls.append).toBe(0);
  });

  it('turns a race lost after a matching If-Match into a 412 without retrying', async () => {
    const { store, calls } = scriptedStore({ version: 4, appendFailures: [new ConcurrencyError('s', 4, 5)] });
    await expect(run(store, { expectedVersion: 4 })).rejects.toMatchObject({
      code: 'VERSION_MISMATCH',
      actualVersion: 5,
    });
    expect(calls.append).toBe(1);
  });

  it('retries a lost race on fresh state, up to conflictRetries, then answers 409', async () => {
    const conflict = () => new ConcurrencyError('s', 0, 1);
    const recovered = scriptedStore({ appendFailures: [conflict(), conflict()] });
    await expect(run(recovered.store, { conflictRetries: 2 })).resolves.toMatchObject({ replayed: false });
    expect(recovered.calls).toMatchObject({ load: 3, append: 3 });

    const exhausted = scriptedStore({ appendFailures: [conflict(), conflict(), conflict()] });
    await expect(run(exhausted.store, { conflictRetries: 2 })).rejects.toMatchObject({
      code: 'CONCURRENCY_CONFLICT',
      httpStatus: 409,
    });
  });

  it('replays a stored response without loading or appending', async () => {
    const { store, calls } = scriptedStore({ stored: [{ response: { ok: 1 }, streamId: 's', streamVersion: 9 }] });
    await expect(run(store, { idempotency: true })).resolves.toEqual({
      replayed: true,
      response: { ok: 1 },
      version: 9,
    });
    expect(calls).toMatchObject({ load: 0, append: 0 });
  });

  it('answers a duplicate that committed first with its stored response, even with If-Match', async () => {
    const { store } = scriptedStore({
      appendFailures: [new IdempotencyKeyInUseError('x', 'k')],
      stored: [undefined, { response: { first: true }, streamId: 's', streamVersion: 1 }],
    });
    await expect(run(store, { idempotency: true, expectedVersion: 0 })).resolves.toEqual({
      replayed: true,
      response: { first: true },
      version: 1,
    });
  });

  it('builds the response once: the client gets exactly what a repeat will replay', async () => {
    const { store, calls } = scriptedStore({});
    let built = 0;
    const result = await handleCommand(store, {
      streamId: 's',
      streamType: 't',
      decider: counterDecider,
      command: { type: 'Add', amount: 1 } as CounterCommand,
      idempotency: { scope: 'x', key: 'k', requestHash: 'h' },
      respond: () => ({ build: ++built }),
    });
    expect(built).toBe(1);
    expect(result.response).toEqual({ build: 1 });
    expect(calls.storedResponses).toEqual([{ build: 1 }]);
  });

  it('lets domain errors through untouched and never retries them', async () => {
    const { store, calls } = scriptedStore({});
    const failing = handleCommand(store, {
      streamId: 's',
      streamType: 't',
      decider: {
        ...counterDecider,
        decide: () => {
          throw new Error('rule broken');
        },
      },
      command: { type: 'Reset' } as CounterCommand,
    });
    await expect(failing).rejects.toThrow('rule broken');
    expect(calls).toMatchObject({ load: 1, append: 0 });
  });

  it('rejects a command that fails validate before any database call, even with an idempotency key', async () => {
    const { store, calls } = scriptedStore({ stored: [{ response: { ok: 1 }, streamId: 's', streamVersion: 9 }] });
    const invalid = handleCommand(store, {
      streamId: 's',
      streamType: 't',
      decider: counterDecider,
      command: { type: 'Add', amount: -1 } as CounterCommand,
      validate: (command) => {
        if (command.type === 'Add' && command.amount < 0) throw new Error('amount must be positive');
      },
      idempotency: { scope: 'x', key: 'k', requestHash: 'h' },
    });
    await expect(invalid).rejects.toThrow('amount must be positive');
    expect(calls).toMatchObject({ load: 0, append: 0, lookup: 0 });
  });
});
