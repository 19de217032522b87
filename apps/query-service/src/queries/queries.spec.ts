import type { Response } from 'express';
import { QueryCache } from '../cache/query-cache';
import { parseMinVersion } from '../consistency/min-version';
import { VersionWaiter } from '../consistency/version-waiter';
import { observeQuery } from './observe-query';
import { sendVersionedAnswer } from './query-answer';
import { ReadModelUnavailableError } from './read-model-errors';
import { readCached, readOwnedView } from './read-your-writes';
import { requireOwnerOrAdmin } from './reader';

const policy = { freshMs: 60_000, cacheMs: 60_000, emptyMs: 60_000, maxEntries: 100 };
const PROJECTS = { noun: 'project', idField: 'projectId', itemRoute: '/projects/:id' };
const alice = { subject: 'alice', admin: false };
const admin = { subject: 'root', admin: true };

function setup(version = 1) {
  const db = { version, reads: 0 };
  const waiter = new VersionWaiter(async (ids) => new Map(ids.map((id) => [id, db.version])), 200, 1, 'projectId');
  return { db, waiter };
}

describe('readOwnedView', () => {
  type View = { ownerId: string; version: number };
  const read = (db: { version: number; reads: number }, cache: QueryCache<View | null>) =>
    ({
      cache,
      streamId: 'p',
      load: async () => (db.reads++, { ownerId: 'alice', version: db.version }),
      ownerOf: (view: View) => view.ownerId,
    }) as const;

  it('shows the view to its owner and an admin only, with how it was answered', async () => {
    const { db, waiter } = setup();
    const cache = new QueryCache<View | null>('project', policy, (v) => v === null);
    const view = read(db, cache);
    expect(await readOwnedView({ waiter, reader: alice, requirements: [] }, view)).toEqual({
      value: { ownerId: 'alice', version: 1 },
      cache: 'miss',
      waitedMs: 0,
    });
    expect((await readOwnedView({ waiter, reader: admin, requirements: [] }, view)).cache).toBe('hit');
    expect(
      (await readOwnedView({ waiter, reader: { subject: 'bob', admin: false }, requirements: [] }, view)).value,
    ).toBeNull();
  });

  it('reads past a cached view older than the required version', async () => {
    const { db, waiter } = setup();
    const cache = new QueryCache<View | null>('project', policy, (v) => v === null);
    await readOwnedView({ waiter, reader: alice, requirements: [] }, read(db, cache));
    db.version = 2;
    const answer = await readOwnedView(
      { waiter, reader: alice, requirements: [{ streamId: 'p', version: 2 }] },
      read(db, cache),
    );
    expect(answer).toMatchObject({ value: { version: 2 }, cache: 'bypass' });
  });

  it('answers 503 READ_MODEL_BEHIND naming the context’s id field when the version does not come', async () => {
    const { db, waiter } = setup();
    const cache = new QueryCache<View | null>('project', policy, (v) => v === null);
    const requirements = [{ streamId: 'p', version: 5 }];
    await expect(readOwnedView({ waiter, reader: alice, requirements }, read(db, cache))).rejects.toMatchObject({
      code: 'READ_MODEL_BEHIND',
      details: { behind: [{ projectId: 'p', minVersion: 5, currentVersion: 1 }] },
    });
  });
});

describe('readCached', () => {
  it('answers from the cache, but from the database when versions are required', async () => {
    const { waiter } = setup();
    const cache = new QueryCache<number>('project_list', policy, () => false);
    let reads = 0;
    const query = { cache, key: 'k', tag: 'alice', load: async () => ++reads };
    expect(await readCached({ waiter, reader: alice, requirements: [] }, query)).toMatchObject({
      value: 1,
      cache: 'miss',
    });
    expect(await readCached({ waiter, reader: alice, requirements: [] }, query)).toMatchObject({
      value: 1,
      cache: 'hit',
    });
    const required = [{ streamId: 'p', version: 1 }];
    expect(await readCached({ waiter, reader: alice, requirements: required }, query)).toMatchObject({
      value: 2,
      cache: 'bypass',
    });
    cache.deleteTag('alice');
    expect((await readCached({ waiter, reader: alice, requirements: [] }, query)).value).toBe(3);
  });
});

describe('observeQuery', () => {
  it('answers a read database that cannot answer as 503 READ_MODEL_UNAVAILABLE', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const run = () =>
      observeQuery({ type: 'GetProject', handler: 'ProjectQueries', cacheKey: 'p' }, () => Promise.reject(refused));
    await expect(run()).rejects.toBeInstanceOf(ReadModelUnavailableError);
  });

  it('logs one line per query, naming the handler', async () => {
    const lines: [object, string][] = [];
    const logger = { info: (details: object, message: string) => lines.push([details, message]) };
    await observeQuery({ type: 'GetProject', handler: 'ProjectQueries', cacheKey: 'p', logger }, async () => ({
      value: 1,
      cache: 'hit',
      waitedMs: 0,
    }));
    expect(lines).toEqual([
      [
        expect.objectContaining({ bus: 'query', type: 'GetProject', handler: 'ProjectQueries', cache_hit: true }),
        'GetProject answered',
      ],
    ]);
  });
});

describe('the HTTP side', () => {
  it('sends the version as ETag, with Cache-Status and the wait', () => {
    const headers: Record<string, string> = {};
    const res = { setHeader: (name: string, value: string) => (headers[name] = value) } as unknown as Response;
    const body = sendVersionedAnswer(res, { value: { version: 4 }, cache: 'bypass', waitedMs: 12 });
    expect(body).toEqual({ version: 4 });
    expect(headers).toEqual({
      ETag: '"4"',
      'Cache-Status': 'query-service; fwd=bypass; detail=min-version',
      'X-Read-Your-Writes-Waited-Ms': '12',
    });
  });

  it('forbids another user’s data to all but the user and admins', () => {
    expect(() => requireOwnerOrAdmin(alice, 'alice', 'no')).not.toThrow();
    expect(() => requireOwnerOrAdmin(admin, 'alice', 'no')).not.toThrow();
    expect(() => requireOwnerOrAdmin(alice, 'bob', 'use /me/projects')).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN', message: 'use /me/projects' }),
    );
  });

  it('words min-version errors in the context’s terms', () => {
    expect(() => parseMinVersion({ header: '3' }, undefined, PROJECTS)).toThrow(
      expect.objectContaining({
        errors: [
          {
            field: 'X-Min-Version',
            message: 'name the project: <projectId>:<version> (the version alone only works on /projects/:id)',
          },
        ],
      }),
    );
  });
});
