import { ReadModelBehindError, VersionWaiter } from './version-waiter';

function setup(timeoutMs = 2_000) {
  const versions = new Map<string, number>();
  let reads = 0;
  const waiter = new VersionWaiter(
    async (ids) => {
      reads++;
      return new Map(ids.map((id) => [id, versions.get(id) ?? 0]));
    },
    timeoutMs,
    2,
  );
  return { waiter, versions, reads: () => reads };
}

describe('VersionWaiter', () => {
  it('returns at once when the read model already has the version', async () => {
    const { waiter, versions, reads } = setup();
    versions.set('t', 3);
    await expect(waiter.waitFor([{ streamId: 't', version: 3 }])).resolves.toEqual({ waitedMs: expect.any(Number) });
    expect(reads()).toBe(1);
    expect(waiter.pending).toBe(0);
  });

  it('waits for a notification, not by polling, and returns when the version commits', async () => {
    const { waiter, versions, reads } = setup();
    const waiting = waiter.waitFor([{ streamId: 't', version: 2 }]);
    await new Promise((r) => setTimeout(r, 100));
    expect(reads()).toBe(1); // no polling while nothing happens
    versions.set('t', 1);
    waiter.notify('t', 1); // not enough: no re-read
    versions.set('t', 2);
    waiter.notify('t', 2);
    await expect(waiting).resolves.toBeDefined();
    expect(reads()).toBe(2);
    expect(waiter.pending).toBe(0);
  });

  it('waits until every requirement holds', async () => {
    const { waiter, versions } = setup();
    let done = false;
    const waiting = waiter
      .waitFor([
        { streamId: 'a', version: 1 },
        { streamId: 'b', version: 1 },
      ])
      .then(() => (done = true));
    versions.set('a', 1);
    waiter.notify('a', 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    versions.set('b', 4);
    waiter.notify('b', 4);
    await waiting;
    expect(done).toBe(true);
  });

  it('gives up after the timeout with READ_MODEL_BEHIND, the versions, and Retry-After', async () => {
    const { waiter, versions } = setup(150);
    versions.set('t', 1);
    const started = Date.now();
    const error = (await waiter
      .waitFor([{ streamId: 't', version: 5 }])
      .catch((e: unknown) => e)) as ReadModelBehindError;
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(error).toBeInstanceOf(ReadModelBehindError);
    expect(error).toMatchObject({
      code: 'READ_MODEL_BEHIND',
      kind: 'unavailable',
      headers: { 'Retry-After': '2' },
      details: { behind: [{ taskId: 't', minVersion: 5, currentVersion: 1 }] },
    });
    expect(waiter.pending).toBe(0);
  });

  it('checks again when told notifications may have been missed', async () => {
    const { waiter, versions } = setup();
    const waiting = waiter.waitFor([{ streamId: 't', version: 1 }]);
    await new Promise((r) => setTimeout(r, 10));
    versions.set('t', 1); // committed while the feed was reconnecting: no notify
    waiter.recheckAll();
    await expect(waiting).resolves.toBeDefined();
  });
});
