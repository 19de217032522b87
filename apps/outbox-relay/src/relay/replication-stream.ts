import { Client } from 'pg';
import { formatLsn, type Lsn } from './lsn';
import { PgoutputDecoder, type PgoutputMessage } from './pgoutput-decoder';

/** What a {@link ReplicationStream} reports as it reads. Handlers run synchronously, in stream order. */
export interface ReplicationHandlers {
  /** The server accepted START_REPLICATION: this session holds the slot now. */
  started(): void;
  message(message: PgoutputMessage): void;
  /** A primary keepalive: the server has sent everything up to `walEnd`. */
  keepalive(walEnd: Lsn, replyRequested: boolean): void;
}

/** Raised when another session streams from the slot (SQLSTATE 55006): this replica is a standby. */
export class SlotInUseError extends Error {
  constructor(slot: string, detail: string) {
    super(`replication slot ${slot} is in use by another session: ${detail}`);
    this.name = 'SlotInUseError';
  }
}

// Microseconds between the Unix epoch and Postgres' epoch (2000-01-01).
const PG_EPOCH_MS = 946_684_800_000;

/**
 * One logical replication session (pgoutput protocol 1, text or binary tuples) over the pg
 * driver's replication protocol support. Written here rather than taken from
 * pg-logical-replication because the relay must control exactly which position it reports: that
 * library's timer acknowledges the last *received* position (confirming rows not yet on Kafka),
 * it adds 1 to every acknowledged LSN (which can make Postgres skip a transaction whose commit
 * record starts right at that position), and it cannot ask for binary tuples.
 */
export class ReplicationStream {
  private readonly client: Client;
  private readonly decoder = new PgoutputDecoder();
  private ended = false;

  private constructor(client: Client) {
    this.client = client;
  }

  /**
   * Opens a replication connection (`replication=database`) with deterministic output settings.
   * `walSenderTimeoutMs` becomes this session's `wal_sender_timeout` (a user-settable parameter
   * since PostgreSQL 12, so no privilege is needed): how long the server keeps the walsender, and
   * with it the slot, after this client stops answering. A kill -9 on a live host closes the
   * socket and frees the slot at once; a frozen process, a lost host or a network partition
   * closes nothing, and only this timeout frees the slot for the next leader.
   */
  static async connect(
    connectionString: string,
    applicationName: string,
    walSenderTimeoutMs: number,
  ): Promise<ReplicationStream> {
    const client = new Client({
      connectionString,
      replication: 'database',
      application_name: applicationName,
      // Fixed text formats for the walsender's output functions: hex bytea, ISO UTC timestamps.
      options: `-c bytea_output=hex -c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3 -c wal_sender_timeout=${walSenderTimeoutMs}`,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    } as ConstructorParameters<typeof Client>[0]);
    const stream = new ReplicationStream(client);
    client.on('error', () => undefined); // surfaced through the streaming promise instead
    await client.connect();
    return stream;
  }

  /**
   * Streams from `slot` starting at `startLsn` (0 = the slot's confirmed position) until the
   * connection ends, then rejects with the reason: {@link SlotInUseError} when another session
   * holds the slot, the handler's error if one threw, otherwise the connection's.
   */
  async stream(
    slot: string,
    publication: string,
    startLsn: Lsn,
    handlers: ReplicationHandlers,
    options: { binary?: boolean } = {},
  ): Promise<void> {
    const connection = (this.client as unknown as { connection: ConnectionInternals }).connection;
    let failure: unknown;
    connection.once('replicationStart', () => handlers.started());
    connection.on('copyData', ({ chunk }: { chunk: Buffer }) => {
      if (failure !== undefined) return;
      try {
        if (chunk[0] === 0x77) {
          // XLogData: start (8), end (8), send time (8), then one pgoutput message
          handlers.message(this.decoder.decode(chunk.subarray(25)));
        } else if (chunk[0] === 0x6b) {
          handlers.keepalive(chunk.readBigUInt64BE(1), chunk[17] === 1);
        }
      } catch (error) {
        // A row that cannot be decoded or routed must stop the stream, never be stepped over.
        failure = error;
        void this.close();
      }
    });
    const sql =
      `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${formatLsn(startLsn)} ` +
      `(proto_version '1', publication_names ${quoteLiteral(quoteIdent(publication))}${options.binary ? ", binary 'true'" : ''})`;
    try {
      await this.client.query(sql);
    } catch (error) {
      if (failure !== undefined) throw failure;
      const e = error as { code?: string; message?: string };
      if (e.code === '55006') throw new SlotInUseError(slot, e.message ?? '');
      throw error;
    } finally {
      this.ended = true;
    }
    if (failure !== undefined) throw failure;
    throw new Error('the replication stream ended');
  }

  /**
   * Standby status update: `flushed` is what Postgres may treat as durable downstream (it becomes
   * the slot's confirmed_flush_lsn); `replyRequested` asks for a keepalive back.
   */
  sendStatus(written: Lsn, flushed: Lsn, replyRequested = false): void {
    if (this.ended) return;
    const message = Buffer.alloc(34);
    message[0] = 0x72; // r
    message.writeBigUInt64BE(written, 1);
    message.writeBigUInt64BE(flushed, 9);
    message.writeBigUInt64BE(flushed, 17);
    message.writeBigUInt64BE(BigInt(Date.now() - PG_EPOCH_MS) * 1000n, 25);
    message[33] = replyRequested ? 1 : 0;
    (this.client as unknown as { connection: ConnectionInternals }).connection.sendCopyFromChunk(message);
  }

  /** Stops reading from the socket (backpressure); the server buffers and waits. */
  pause(): void {
    (this.client as unknown as { connection: ConnectionInternals }).connection.stream.pause();
  }

  resume(): void {
    (this.client as unknown as { connection: ConnectionInternals }).connection.stream.resume();
  }

  /** Ends the session (the slot is released when the walsender sees the connection close). */
  async close(): Promise<void> {
    this.ended = true;
    await this.client.end().catch(() => undefined);
  }
}

interface ConnectionInternals {
  on(event: 'copyData', listener: (message: { chunk: Buffer }) => void): void;
  once(event: 'replicationStart', listener: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  stream: { pause(): void; resume(): void };
}

/** Quotes a Postgres identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
