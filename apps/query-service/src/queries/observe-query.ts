import { cqrsMetric, withSpan } from '@cqrs/observability';
import { isDomainError } from '@cqrs/util';
import type { QueryAnswer } from './query-answer';
import { asReadModelError } from './read-model-errors';

/** Where per-query log lines go (pino's signature); one info line per query, like the command side's. */
export interface QueryLogger {
  info(details: object, message: string): void;
}

/** A query as its span, metrics and log line name it. */
export interface ObservedQuery {
  /** e.g. `GetTask`: the span is `query.<type>`, the metrics' `type` label. */
  type: string;
  /** The class answering it, for the log line, e.g. `TaskQueries`. */
  handler: string;
  cacheKey: string;
  logger?: QueryLogger;
}

const queries = cqrsMetric('cqrs_query_total');
const durations = cqrsMetric('cqrs_query_duration_ms');

/**
 * Runs a query in a `query.<type>` span, counts it in `cqrs_query_total` /
 * `cqrs_query_duration_ms` (by cache hit) and logs one line. A read database that cannot answer
 * is rethrown as 503 READ_MODEL_UNAVAILABLE.
 */
export async function observeQuery<T>(
  { type, handler, cacheKey, logger }: ObservedQuery,
  run: () => Promise<QueryAnswer<T>>,
): Promise<QueryAnswer<T>> {
  const started = performance.now();
  const result = await withSpan(
    `query.${type}`,
    async (span): Promise<{ answer: QueryAnswer<T> } | { rejected: unknown }> => {
      let hit: boolean;
      let outcome: { answer: QueryAnswer<T> } | { rejected: unknown };
      try {
        const answer = await run();
        hit = answer.cache === 'hit' || answer.cache === 'stale';
        span.setAttributes({
          'cqrs.cache.outcome': answer.cache,
          'cqrs.read_your_writes.waited_ms': answer.waitedMs,
        });
        outcome = { answer };
      } catch (error) {
        // An answer the client caused (404, 400) is not a failed span; anything else is.
        if (!isDomainError(error) || (error.kind !== 'not_found' && error.kind !== 'validation')) {
          throw asReadModelError(error);
        }
        // A cached 404 is a hit too; its Cache-Status says so.
        hit = /; hit/.test((error as { headers?: Record<string, string> }).headers?.['Cache-Status'] ?? '');
        span.setAttribute('cqrs.error.code', error.code);
        outcome = { rejected: error };
      }
      span.setAttribute('cqrs.cache.hit', hit);
      const durationMs = performance.now() - started;
      queries.inc({ type, cache_hit: String(hit) });
      durations.observe({ type, cache_hit: String(hit) }, durationMs);
      logger?.info(
        {
          bus: 'query',
          type,
          handler,
          cache_key: cacheKey,
          cache_hit: hit,
          duration_ms: Math.round(durationMs * 10) / 10,
          ...('rejected' in outcome ? { error_code: (outcome.rejected as { code?: string }).code } : {}),
        },
        `${type} answered`,
      );
      return outcome;
    },
    { attributes: { 'cqrs.query.type': type, 'cqrs.cache.key': cacheKey } },
  );
  if ('rejected' in result) throw result.rejected;
  return result.answer;
}
