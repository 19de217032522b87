import type { Connection, PoolClient, Submittable } from 'pg';

/** A value of a COPY row: null is SQL NULL; everything else goes in as its text. */
export type CopyValue = string | number | boolean | null;

/** The copy sub-protocol messages of node-postgres' connection (what pg-copy-streams uses too). */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** `value` in COPY's text format (`\N` for NULL; backslash, tab, newline and CR escaped). */
export function copyText(value: CopyValue): string {
  if (value === null) return '\\N';
  const text = typeof value === 'string' ? value : String(value);
  return NEEDS_ESCAPE.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : text;
}

/** The rows as COPY text: one line each, values separated by tabs. */
export function copyLines(rows: Iterable<readonly CopyValue[]>): string {
  let text = '';
  for (const row of rows) {
    let line = '';
    for (let i = 0; i < row.length; i++) line += (i === 0 ? '' : '\t') + copyText(row[i]!);
    text += `${line}\n`;
  }
  return text;
}

const CHUNK = 64 * 1024;

/** One `COPY … FROM STDIN` with its data, as a query node-postgres runs in its queue. */
class CopyIn implements Submittable {
  private error: Error | undefined;
  private rows = 0;

  constructor(
    private readonly text: string,
    private readonly data: Buffer,
    private readonly done: (error: Error | undefined, rows: number) => void,
  ) {}

  submit(connection: Connection): void {
    (connection as unknown as CopyConnection).query(this.text);
  }

  handleCopyInResponse(connection: Connection): void {
    const c = connection as unknown as CopyConnection;
    for (let at = 0; at < this.data.length; at += CHUNK) c.sendCopyFromChunk(this.data.subarray(at, at + CHUNK));
    c.endCopyFrom();
  }

  handleCommandComplete(message: { text?: string }): void {
    this.rows = Number(/COPY (\d+)/.exec(message.text ?? '')?.[1] ?? 0);
  }

  handleError(error: Error): void {
    this.error = error;
  }

  handleReadyForQuery(): void {
    this.done(this.error, this.rows);
  }

  // Not sent for COPY FROM; present because the client calls whatever the server answers with.
  handleRowDescription(): void {
    return undefined;
  }
  handleDataRow(): void {
    return undefined;
  }
  handleEmptyQuery(): void {
    return undefined;
  }
  handlePortalSuspended(): void {
    return undefined;
  }
}

/**
 * Loads `rows` into `table` with `COPY … FROM STDIN` on `client` (in the caller's transaction):
 * PostgreSQL's bulk path, about twice as fast on the server as inserting the same rows from a
 * JSON parameter. Resolves with the number of rows copied; a failure rejects (and aborts the
 * transaction, as any failed statement does).
 */
export function copyRows(
  client: PoolClient,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly CopyValue[]>,
): Promise<number> {
  const data = Buffer.from(copyLines(rows));
  return new Promise((resolve, reject) => {
    client.query(
      new CopyIn(`COPY ${table} (${columns.join(', ')}) FROM STDIN`, data, (error, copied) =>
        error ? reject(error) : resolve(copied),
      ),
    );
  });
}
