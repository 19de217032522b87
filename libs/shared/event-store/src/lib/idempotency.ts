import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';
import { IdempotencyKeyReusedError } from './event-store.errors';
import type { IdempotencyOptions, StoredResponse } from './event-store.types';
import { unavailableOrRethrow, type Sql, type Statement } from './sql';

/**
 * A stable SHA-256 (hex) of a request, for {@link IdempotencyOptions.requestHash}. Keys are
 * sorted first, so `{"a":1,"b":2}` and `{"b":2,"a":1}` hash alike: a client that re-serialises
 * the same body is not told it sent a different request. Include everything that makes two
 * requests different, e.g. `hashRequest({ method, path, body })`.
 */
export function hashRequest(request: unknown): string {
  return createHash('sha256')
    .update(stringify(request) ?? 'undefined')
    .digest('hex');
}

// Idempotency keys: the record an append with a key commits with its events (see the append), the
// lookup a repeat of the request answers from, and the purge of expired keys.

export const FIND_IDEMPOTENCY_KEY: Statement = {
  name: 'cqrs_es_find_idempotency_key_v1',
  text: `SELECT request_hash, response, stream_id, stream_version FROM idempotency_keys
         WHERE scope = $1 AND key = $2 AND expires_at > now()`,
};

// An expired key may be taken over; a live one (committed by a concurrent duplicate) returns no row.
export const SAVE_IDEMPOTENCY_KEY: Statement = {
  name: 'cqrs_es_save_idempotency_key_v1',
  text: `
  INSERT INTO idempotency_keys (scope, key, request_hash, response, stream_id, stream_version, expires_at)
  VALUES ($1, $2, $3, $4::jsonb, $5, $6, now() + $7::bigint * interval '1 millisecond')
  ON CONFLICT (scope, key) DO UPDATE
    SET request_hash = EXCLUDED.request_hash, response = EXCLUDED.response, stream_id = EXCLUDED.stream_id,
        stream_version = EXCLUDED.stream_version, created_at = now(), expires_at = EXCLUDED.expires_at
    WHERE idempotency_keys.expires_at <= now()
  RETURNING 1`,
};

/** The remembered response of an unexpired key; throws {@link IdempotencyKeyReusedError} for another request's key. */
export async function findIdempotentResponse(
  sql: Sql,
  { scope, key, requestHash }: IdempotencyOptions,
): Promise<StoredResponse | undefined> {
  const [row] = await sql
    .once<{
      request_hash: string;
      response: unknown;
      stream_id: string;
      stream_version: string;
    }>(FIND_IDEMPOTENCY_KEY, [scope, key])
    .catch(unavailableOrRethrow);
  if (!row) return undefined;
  if (row.request_hash !== requestHash) throw new IdempotencyKeyReusedError(scope, key);
  return { response: row.response, streamId: row.stream_id, streamVersion: Number(row.stream_version) };
}

/** Deletes expired keys in batches (each delete short, so a backlog never locks the table for long). */
export async function purgeExpiredIdempotencyKeys(sql: Sql, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const [, deleted]: [unknown, number] = await sql.dataSource.query(
      `DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
         SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT $1))`,
      [batchSize],
    );
    total += deleted;
    if (deleted < batchSize) return total;
  }
}
