import { withClient } from './database-cleanup';

/** SQLSTATE of a statement Postgres refuses for lack of a grant. */
export const INSUFFICIENT_PRIVILEGE = '42501';

/** Runs `sql` as the role of `url`; resolves to the error's SQLSTATE (else its message), or undefined when it worked. */
export function sqlstate(url: string, sql: string, params?: unknown[]): Promise<string | undefined> {
  return withClient(url, (client) => client.query(sql, params)).then(
    () => undefined,
    (error: { code?: string; message: string }) => error.code ?? error.message,
  );
}
