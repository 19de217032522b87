import type { Response } from 'express';
import { cacheStatus, type CacheOutcome } from '../cache/query-cache';

/** An answer and how it was produced (for the Cache-Status header and logs). */
export interface QueryAnswer<T> {
  value: T;
  cache: CacheOutcome | 'bypass';
  waitedMs: number;
}

/**
 * Writes how an answer was produced (`Cache-Status`, and `X-Read-Your-Writes-Waited-Ms` after a
 * wait) and returns its body. Express then sets a weak ETag from the body and answers a matching
 * `If-None-Match` with 304, as it does for every body.
 */
export function sendQueryAnswer<T>(res: Response, result: QueryAnswer<T>): T {
  res.setHeader('Cache-Status', cacheStatus(result.cache));
  if (result.waitedMs > 0) res.setHeader('X-Read-Your-Writes-Waited-Ms', String(result.waitedMs));
  return result.value;
}

/**
 * {@link sendQueryAnswer} for one aggregate's view: its ETag is its stream version (`"3"`), the
 * tag the command side issues, so a client can send it as `If-Match`; `If-None-Match` with it is 304.
 */
export function sendVersionedAnswer<T extends { version: number }>(res: Response, result: QueryAnswer<T>): T {
  res.setHeader('ETag', `"${result.value.version}"`);
  return sendQueryAnswer(res, result);
}

/**
 * Marks an error answer with how it was produced: the problem+json filter copies `headers`, so a
 * cached 404 says so like a cached 200.
 */
export function withCacheStatus<E extends Error>(error: E, outcome: CacheOutcome | 'bypass'): E {
  return Object.assign(error, { headers: { 'Cache-Status': cacheStatus(outcome) } });
}
