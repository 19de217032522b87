import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';

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
