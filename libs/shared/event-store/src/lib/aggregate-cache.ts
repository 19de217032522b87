import { LRUCache } from 'lru-cache';
import type { AggregateResult } from './event-store.types';

/**
 * Folded aggregates kept between commands, so a command on a stream this instance wrote last
 * needs no load (Axon's caching repository). An entry is only ever a hint: {@link handleCommand}
 * appends with the entry's version as the expected one, so a stale entry (another instance wrote
 * the stream since) fails the store's guard and is reloaded, and a command the stale state would
 * reject is decided again on freshly loaded state before anyone sees the rejection.
 *
 * States are shared between commands, so `evolve` must return new objects (it is pure by the
 * conventions anyway).
 */
export interface AggregateCache {
  get(key: string): AggregateResult<unknown> | undefined;
  set(key: string, value: AggregateResult<unknown>): void;
  delete(key: string): void;
}

/** An {@link AggregateCache} holding the `max` most recently used aggregates. */
export class LruAggregateCache implements AggregateCache {
  private readonly lru: LRUCache<string, AggregateResult<unknown>>;

  constructor(options: { max: number }) {
    if (!Number.isInteger(options.max) || options.max < 1) {
      throw new RangeError(`max must be a positive integer, got ${options.max}`);
    }
    this.lru = new LRUCache({ max: options.max });
  }

  get(key: string) {
    return this.lru.get(key);
  }

  set(key: string, value: AggregateResult<unknown>) {
    this.lru.set(key, value);
  }

  delete(key: string) {
    this.lru.delete(key);
  }
}
