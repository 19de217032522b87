import type { KafkaPublisher, PartitionedRecord } from './kafka-publisher';
import { AckTracker } from './ack-tracker';
import type { Lsn } from './lsn';
import type { BoundOutboxTable, OutboxRecord, OutboxRouter } from './outbox-routing';
import type { PgoutputMessage } from './pgoutput-decoder';
import type { ReplicationStream } from './replication-stream';

/** The parts of a replication connection a session drives. */
export type SessionStream = Pick<ReplicationStream, 'stream' | 'sendStatus' | 'pause' | 'resume' | 'close'>;
/** The parts of the Kafka publisher a session drives. */
export type SessionPublisher = Pick<KafkaPublisher, 'partitionsOf' | 'partitionFor' | 'send' | 'resetProducer'>;
import { relayMetrics } from './relay-metrics';
import type { RelayLogger } from './relay-logger';

/** Tuning of one leader session; see the relay's configuration for the documented defaults. */
export interface SessionSettings {
  slot: string;
  publication: string;
  batchMaxEvents: number;
  batchMaxPartitionBytes: number;
  maxBufferedEvents: number;
  statusIntervalMs: number;
  /**
   * At most this often a newly acknowledged position is reported to Postgres (the status
   * update that lets it recycle WAL); 0 reports each acknowledgement at once.
   */
  confirmIntervalMs: number;
  /**
   * When a row arrives within this long of the last send (busy traffic), wait this long for more
   * rows before sending (Kafka's linger.ms); a row after a quiet moment goes at once.
   */
  lingerMs: number;
  retryMaxMs: number;
  /** Ask pgoutput for binary column values (PostgreSQL 14+): raw payload bytes, no hex. */
  binaryTuples: boolean;
}

/** What the session tells its owner as it goes. */
export interface SessionObserver {
  /** Postgres accepted START_REPLICATION: this replica holds the slot. */
  started(): void;
  confirmed(lsn: Lsn): void;
  published(count: number): void;
  publishFailed(error: unknown): void;
}

/**
 * One stretch of holding the slot: reads the stream into a bounded queue, writes it to Kafka in
 * batches (one batch in flight, retried until it succeeds), and confirms a WAL position only
 * once every row before it is acknowledged. Ends when the replication connection ends; whatever
 * was not confirmed is simply streamed again by the next session.
 */
export class RelaySession {
  private readonly tracker: AckTracker;
  private readonly queue: OutboxRecord[] = [];
  private readonly tables = new Map<number, BoundOutboxTable>();
  private inTransaction = false;
  private received: Lsn;
  private paused = false;
  private ended = false;
  private draining = false;
  private wake: (() => void) | undefined;
  /** The slot starts at `startLsn`, so that much is confirmed already. */
  private lastReported: Lsn;
  private lastStatusAt = 0;
  /** When the last batch was acknowledged (what tells lingering traffic from a quiet moment). */
  private lastSendAt = 0;
  private statusTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: SessionStream,
    private readonly router: OutboxRouter,
    private readonly publisher: SessionPublisher,
    private readonly settings: SessionSettings,
    startLsn: Lsn,
    private readonly observer: SessionObserver,
    private readonly logger: RelayLogger,
  ) {
    this.tracker = new AckTracker(startLsn);
    this.received = startLsn;
    this.lastReported = startLsn;
  }

  /** Rows received and not yet acknowledged by Kafka. */
  get pending(): number {
    return this.tracker.pending;
  }

  /** Streams until the connection ends; rejects with the reason it ended, unless asked to stop. */
  async run(startLsn: Lsn): Promise<void> {
    const status = setInterval(() => this.sendStatus(this.queue.length === 0), this.settings.statusIntervalMs);
    const publishing = this.publishLoop();
    try {
      await this.stream.stream(
        this.settings.slot,
        this.settings.publication,
        startLsn,
        {
          started: () => this.observer.started(),
          message: (message) => this.onMessage(message),
          keepalive: (walEnd, replyRequested) => this.onKeepalive(walEnd, replyRequested),
        },
        { binary: this.settings.binaryTuples },
      );
    } catch (error) {
      if (!this.draining) throw error;
    } finally {
      this.ended = true;
      clearInterval(status);
      clearTimeout(this.statusTimer);
      this.wake?.();
      await publishing;
    }
  }

  /**
   * Graceful end: stop reading, let the queue drain to Kafka (at most `timeoutMs`), report the
   * final confirmed position, close the connection (which frees the slot for a standby).
   */
  async drainAndClose(timeoutMs: number): Promise<void> {
    this.draining = true;
    this.stream.pause();
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && !this.ended && Date.now() < deadline) await sleep(50);
    this.sendStatus(false);
    await this.stream.close();
  }

  private onMessage(message: PgoutputMessage): void {
    switch (message.tag) {
      case 'begin':
        this.inTransaction = true;
        return;
      case 'relation': {
        const { relation } = message;
        this.tables.set(relation.oid, this.router.bind(`${relation.schema}.${relation.name}`, relation.columns));
        return;
      }
      case 'insert': {
        const table = this.tables.get(message.relation.oid);
        if (!table) throw new Error(`no bound table for relation ${message.relation.oid}`);
        this.queue.push(this.router.route(table, message.values));
        this.tracker.row();
        if (!this.paused && this.queue.length >= this.settings.maxBufferedEvents) {
          this.paused = true;
          this.stream.pause();
        }
        this.wake?.();
        return;
      }
      case 'commit':
        this.inTransaction = false;
        if (message.endLsn > this.received) this.received = message.endLsn;
        this.confirm(this.tracker.checkpoint(message.endLsn));
        return;
      case 'other':
        return; // updates, deletes, truncates, types, origins, logical messages: not outbox inserts
    }
  }

  private onKeepalive(walEnd: Lsn, replyRequested: boolean): void {
    if (walEnd > this.received) this.received = walEnd;
    // Between transactions the server has sent everything up to walEnd: once the rows before it
    // are on Kafka it may be confirmed, which is what keeps an idle slot from pinning WAL.
    if (!this.inTransaction) this.confirm(this.tracker.checkpoint(walEnd));
    if (replyRequested) this.sendStatus(false);
  }

  private confirm(lsn: Lsn): void {
    if (lsn <= this.lastReported) return;
    this.lastReported = lsn;
    this.observer.confirmed(lsn);
    // One status update per interval carries the latest position: a socket write per
    // acknowledged batch would cost the relay and the walsender more than the rows themselves.
    const wait = this.lastStatusAt + this.settings.confirmIntervalMs - Date.now();
    if (wait <= 0) this.sendStatus(false);
    else this.statusTimer ??= setTimeout(() => this.sendStatus(false), wait);
  }

  private sendStatus(askForKeepalive: boolean): void {
    clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    this.lastStatusAt = Date.now();
    this.stream.sendStatus(this.received, this.tracker.confirmed, askForKeepalive);
  }

  private async publishLoop(): Promise<void> {
    while (!this.ended) {
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        // Rows arrive a transaction at a time. While they come faster than one per linger
        // interval, waiting a moment for the next ones sends them in one request, which costs
        // the relay, the broker and the consumers less per row; a row after a quiet moment goes
        // at once, so light traffic pays no latency for it.
        const busy = Date.now() - this.lastSendAt < this.settings.lingerMs;
        if (busy && !this.draining && this.queue.length < this.settings.batchMaxEvents)
          await sleep(this.settings.lingerMs);
        continue;
      }
      const batch = await this.retrying(() => this.assemble());
      if (!batch) return;
      const startedAt = Date.now();
      const sent = await this.retrying(async () => {
        await this.publisher.send(batch);
        return true;
      });
      if (!sent) return;
      this.lastSendAt = Date.now();
      this.acknowledge(batch);
      this.logger.debug(
        { events: batch.length, ms: Date.now() - startedAt, queued: this.queue.length },
        'batch acknowledged',
      );
    }
  }

  /** The longest prefix of the queue within the batch limits (a prefix, so acks stay in stream order). */
  private async assemble(): Promise<PartitionedRecord[]> {
    const batch: PartitionedRecord[] = [];
    const bytes = new Map<string, number>();
    const limit = Math.min(this.queue.length, this.settings.batchMaxEvents);
    for (let i = 0; i < limit; i++) {
      const record = this.queue[i]!;
      const partition = this.publisher.partitionFor(record, await this.publisher.partitionsOf(record.topic));
      const slot = `${record.topic}\u0000${partition}`;
      const size = recordSize(record);
      const used = bytes.get(slot) ?? 0;
      if (used > 0 && used + size > this.settings.batchMaxPartitionBytes) break;
      bytes.set(slot, used + size);
      batch.push({ record, partition });
    }
    return batch;
  }

  private acknowledge(batch: PartitionedRecord[]): void {
    const now = Date.now();
    const perTopic = new Map<string, number>();
    for (const { record } of batch) {
      perTopic.set(record.topic, (perTopic.get(record.topic) ?? 0) + 1);
      if (record.timestampMs !== null) relayMetrics.publishLag.observe(Math.max(0, now - record.timestampMs) / 1000);
    }
    for (const [topic, count] of perTopic) relayMetrics.published.inc({ topic }, count);
    this.queue.splice(0, batch.length);
    this.observer.published(batch.length);
    this.confirm(this.tracker.ack(batch.length));
    if (this.paused && this.queue.length <= this.settings.maxBufferedEvents / 2) {
      this.paused = false;
      if (!this.draining) this.stream.resume();
    }
  }

  /**
   * Runs `attempt` until it succeeds, backing off (exponential, jittered, capped) between
   * failures; nothing is skipped. Gives up, returning undefined, only when the session ends.
   */
  private async retrying<T>(attempt: () => Promise<T>): Promise<T | undefined> {
    for (let failures = 0; ; ) {
      if (this.ended) return undefined;
      try {
        return await attempt();
      } catch (error) {
        failures++;
        relayMetrics.publishFailures.inc();
        this.observer.publishFailed(error);
        const delay = backoff(failures, this.settings.retryMaxMs);
        this.logger.warn(
          { err: error, attempt: failures, retryInMs: delay, pending: this.tracker.pending },
          `writing to Kafka failed (attempt ${failures}), retrying in ${delay} ms: ${(error as Error).message}`,
        );
        // A producer that keeps failing may hold stale connections or sequence state: start afresh.
        if (failures % 5 === 0) await this.publisher.resetProducer(`${failures} failed attempts in a row`);
        const until = Date.now() + delay;
        while (!this.ended && Date.now() < until) await sleep(Math.min(100, until - Date.now()));
      }
    }
  }
}

/** Exponential backoff from 200 ms with jitter (50–100 % of the step), capped at `maxMs`. */
export function backoff(failures: number, maxMs: number): number {
  const step = Math.min(maxMs, 200 * 2 ** Math.min(failures - 1, 20));
  return Math.round(step / 2 + (Math.random() * step) / 2);
}

function recordSize(record: OutboxRecord): number {
  let size = 70 + (record.value?.length ?? 0) + (record.key?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers)) size += name.length + (value?.length ?? 0) + 4;
  return size;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
