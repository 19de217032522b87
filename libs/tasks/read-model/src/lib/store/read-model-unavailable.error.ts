import { DomainError } from '@cqrs/util';

// "The read database cannot answer this now", not "this request is wrong": pg-pool's wait for a
// connection timing out (every connection busy), a statement cancelled by statement_timeout
// (57014), refused or dropped connections, and PostgreSQL's admin_shutdown, crash_shutdown,
// cannot_connect_now and too_many_connections. The write side's EventStoreUnavailableError reads
// the same signals from its own database.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57014',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
const UNAVAILABLE_MESSAGES = [/timeout exceeded when trying to connect/i, /connection terminated/i];

/**
 * The read database did not answer in time: no pooled connection freed up within the acquire
 * timeout, a statement ran past the statement timeout, or the database is unreachable. Answered
 * 503 `READ_MODEL_UNAVAILABLE` with `Retry-After`, so clients back off instead of seeing a 500.
 */
export class ReadModelUnavailableError extends DomainError {
  /** Sent as HTTP headers by the problem filter. */
  readonly headers: Record<string, string>;

  constructor(cause: unknown, retryAfterSeconds = 1) {
    super('READ_MODEL_UNAVAILABLE', 'unavailable', 'the read model cannot answer right now; retry shortly', { cause });
    this.name = 'ReadModelUnavailableError';
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }

  /** Whether `error` (from pg or pg-pool) means the read database is overloaded, too slow or unreachable. */
  static matches(error: unknown): boolean {
    const e = error as { code?: unknown; message?: unknown } | undefined;
    if (!e || typeof e !== 'object') return false;
    if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
    return typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(e.message as string));
  }
}
