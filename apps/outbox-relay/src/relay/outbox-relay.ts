import { Client } from 'pg';
import type { KafkaPublisher } from './kafka-publisher';
import { formatLsn, parseLsn, ZERO_LSN, type Lsn } from './lsn';
import { RelayConfigError, type OutboxRouter } from './outbox-routing';
import { ReplicationStream, SlotInUseError } from './replication-stream';
import { relayMetrics } from './relay-metrics';
import type { RelayLogger } from './relay-logger';
import { backoff, RelaySession, type SessionSettings } from './relay-session';

/** Everything the relay needs; the app builds it from the environment (see config.ts for defaults). */
export interface OutboxRelayOptions extends Omit<SessionSettings, 'slot' | 'publication'> {
  /** A role with REPLICATION (and CONNECT) on the outbox database. */
  databaseUrl: string;
  slotName: string;
  publication: string;
  /** Create the slot when it is missing (only rows committed afterwards are relayed). */
  slotAutoCreate: boolean;
  /** How often a standby checks whether the slot has been released. */
  standbyPollMs: number;
  /** How long a graceful stop waits for buffered rows to reach Kafka. */
  drainTimeoutMs: number;
  /** `wal_sender_timeout` of the leader's replication session: how long a silent leader keeps the slot. */
  walSenderTimeoutMs: number;
  applicationName: string;
  router: OutboxRouter;
  publisher: KafkaPublisher;
  logger: RelayLogger;
}

/** Where a replica stands. */
export type RelayRole = 'starting' | 'standby' | 'leader' | 'stopped';

/** A snapshot for health checks and logs. */
export interface RelayState {
  role: RelayRole;
  slot: string;
  /** The last position confirmed to Postgres by this replica (or read from the slot). */
  confirmedLsn: string | null;
  slotLagBytes: number | null;
  /** Backend pid streaming from the slot when this replica is on standby. */
  slotHolderPid: number | null;
  /** Why the replication side is not working right now (null while it is). */
  replicationError: string | null;
  /** Why the last write to Kafka failed (null after a success). */
  producerError: string | null;
  /** Rows received and not yet on Kafka. */
  pending: number;
}

const LAG_POLL_MS = 5000;

/**
 * The outbox relay: holds the replication slot (or waits on standby while another replica holds
 * it), streams the outbox's inserts and publishes them to Kafka, confirming WAL positions only
 * behind Kafka's acknowledgements. Postgres itself arbitrates leadership: a logical slot can be
 * streamed by one session at a time, and a dead leader's session (and claim) ends with its
 * connection.
 */
export class OutboxRelay {
  private state: RelayState;
  private control: Client | undefined;
  private session: RelaySession | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private confirmed: Lsn = ZERO_LSN;
  private wakeUp: (() => void) | undefined;
  /** Set when a session moved the confirmed position: the failure backoff starts over. */
  private progressed = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.state = {
      role: 'starting',
      slot: options.slotName,
      confirmedLsn: null,
      slotLagBytes: null,
      slotHolderPid: null,
      replicationError: null,
      producerError: null,
      pending: 0,
    };
    relayMetrics.leader.set({ slot: options.slotName }, 0);
  }

  /** Starts the relay loop in the background; `stop()` ends it. */
  start(): void {
    this.running ??= this.run();
  }

  status(): RelayState {
    return { ...this.state, pending: this.session?.pending ?? 0 };
  }

  /** Drains what was read to Kafka (bounded by drainTimeoutMs), confirms it, releases the slot. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    await this.session?.drainAndClose(this.options.drainTimeoutMs);
    await this.running;
    await this.control?.end().catch(() => undefined);
    this.control = undefined;
    await this.options.publisher.close();
    this.setRole('stopped');
  }

  private async run(): Promise<void> {
    const { logger, slotName } = this.options;
    let failures = 0;
    while (!this.stopping) {
      try {
        const slot = await this.inspectSlot();
        if (!slot) {
          await this.createSlot();
          continue;
        }
        if (slot.activePid !== null) {
          if (this.state.role !== 'standby')
            logger.log(
              { slot: slotName, holder: slot.activePid },
              `standby: slot ${slotName} is held by backend ${slot.activePid}`,
            );
          this.state.slotHolderPid = slot.activePid;
          this.state.replicationError = null;
          this.setRole('standby');
          await this.pause(this.options.standbyPollMs);
          continue;
        }
        await this.checkPublication();
        await this.lead(slot.confirmed);
      } catch (error) {
        if (this.stopping) break;
        if (error instanceof SlotInUseError) {
          this.setRole('standby');
          await this.pause(this.options.standbyPollMs);
          continue;
        }
        // A fault that recurs without progress (say, a row that cannot be routed) backs off to the cap.
        failures = this.progressed ? 1 : failures + 1;
        this.progressed = false;
        const delay = backoff(failures, this.options.retryMaxMs);
        this.state.replicationError = (error as Error).message;
        if (this.state.role === 'leader') this.setRole('starting');
        logger.error(
          { err: error, slot: slotName, retryInMs: delay },
          `outbox relay: ${(error as Error).message} (retrying in ${delay} ms)`,
        );
        if (!(error instanceof RelayConfigError)) await this.dropControl();
        await this.pause(delay);
      }
    }
  }

  /** One leader session: stream, publish, confirm, until the connection ends. */
  private async lead(slotConfirmed: Lsn): Promise<void> {
    const { logger, slotName, publication, databaseUrl, applicationName, walSenderTimeoutMs } = this.options;
    const stream = await ReplicationStream.connect(databaseUrl, applicationName, walSenderTimeoutMs);
    if (this.stopping) {
      await stream.close();
      return;
    }
    // Resume from what this process confirmed if it is ahead of what the slot recorded (e.g. the
    // last status update was lost with the connection): fewer duplicates, never a gap.
    const start = this.confirmed > slotConfirmed ? this.confirmed : slotConfirmed;
    if (start > this.confirmed) this.confirmed = start;
    const session = new RelaySession(
      stream,
      this.options.router,
      this.options.publisher,
      { ...this.options, slot: slotName, publication },
      start,
      {
        started: () => {
          this.state.replicationError = null;
          this.state.slotHolderPid = null;
          this.setRole('leader');
          logger.log(
            { slot: slotName, startLsn: formatLsn(start) },
            `leader: streaming slot ${slotName} from ${formatLsn(start)}`,
          );
        },
        confirmed: (lsn) => {
          this.progressed = true;
          this.confirmed = lsn;
          this.state.confirmedLsn = formatLsn(lsn);
        },
        published: () => {
          this.state.producerError = null;
        },
        publishFailed: (error) => {
          this.state.producerError = (error as Error).message;
        },
      },
      logger,
    );
    this.session = session;
    // stop() may have run while this session was being set up: it found no session to drain.
    if (this.stopping) void session.drainAndClose(0);
    const lagTimer = setInterval(() => void this.inspectSlot().catch(() => undefined), LAG_POLL_MS);
    try {
      await session.run(start);
    } finally {
      clearInterval(lagTimer);
      this.session = undefined;
      await stream.close();
      if (this.state.role === 'leader') this.setRole(this.stopping ? 'stopped' : 'starting');
    }
  }

  private async inspectSlot(): Promise<{ activePid: number | null; confirmed: Lsn } | undefined> {
    const client = await this.controlClient();
    const { rows } = await client.query<{
      active_pid: number | null;
      confirmed: string | null;
      lag: string | null;
      plugin: string;
      database: string;
      current: string;
    }>(
      `SELECT active_pid, confirmed_flush_lsn::text AS confirmed, plugin, database, current_database() AS current,
              pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag
         FROM pg_replication_slots WHERE slot_name = $1`,
      [this.options.slotName],
    );
    const row = rows[0];
    if (!row) {
      if (!this.options.slotAutoCreate) {
        throw new RelayConfigError(
          `replication slot ${this.options.slotName} does not exist and OUTBOX_SLOT_AUTOCREATE=false. ` +
            'After a failover the slot may be gone: events committed since then must be recovered before creating it again',
        );
      }
      return undefined;
    }
    if (row.plugin !== 'pgoutput' || row.database !== row.current) {
      throw new RelayConfigError(
        `replication slot ${this.options.slotName} belongs to database ${row.database} with plugin ${row.plugin}; ` +
          `the relay needs a pgoutput slot on ${row.current} (choose another OUTBOX_SLOT_NAME)`,
      );
    }
    const lag = row.lag === null ? null : Number(row.lag);
    this.state.slotLagBytes = lag;
    if (lag !== null) relayMetrics.slotLag.set({ slot: this.options.slotName }, lag);
    const confirmed = row.confirmed === null ? ZERO_LSN : parseLsn(row.confirmed);
    if (this.state.role !== 'leader') this.state.confirmedLsn = row.confirmed;
    return { activePid: row.active_pid, confirmed };
  }

  private async createSlot(): Promise<void> {
    const client = await this.controlClient();
    try {
      const { rows } = await client.query<{ lsn: string }>(
        `SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')`,
        [this.options.slotName],
      );
      this.options.logger.warn(
        { slot: this.options.slotName, lsn: rows[0]?.lsn },
        `created replication slot ${this.options.slotName} at ${rows[0]?.lsn}: outbox rows committed from here on are relayed`,
      );
    } catch (error) {
      // Another replica created it first: fine, it exists now.
      if ((error as { code?: string }).code !== '42710') throw error;
    }
  }

  private async checkPublication(): Promise<void> {
    const client = await this.controlClient();
    const { rows } = await client.query<{ pubinsert: boolean; tables: string[] | null; db: string }>(
      `SELECT p.pubinsert, current_database() AS db,
              (SELECT array_agg(t.schemaname || '.' || t.tablename) FROM pg_publication_tables t WHERE t.pubname = p.pubname) AS tables
         FROM pg_publication p WHERE p.pubname = $1`,
      [this.options.publication],
    );
    const row = rows[0];
    const db = row?.db ?? new URL(this.options.databaseUrl).pathname.slice(1);
    if (!row) {
      throw new RelayConfigError(
        `publication ${this.options.publication} does not exist in database ${db}: the event-store migrations create it (run them as the owner role), or set OUTBOX_PUBLICATION`,
      );
    }
    if (!row.pubinsert || !row.tables?.length) {
      throw new RelayConfigError(
        `publication ${this.options.publication} in ${db} publishes no inserts of any table: it must be FOR TABLE outbox WITH (publish = 'insert')`,
      );
    }
  }

  private async controlClient(): Promise<Client> {
    if (!this.control) {
      const client = new Client({
        connectionString: this.options.databaseUrl,
        application_name: `${this.options.applicationName}-control`,
        connectionTimeoutMillis: 5000,
        // Server-side, so no client timer outlives a closed connection.
        options: '-c statement_timeout=60000',
      });
      client.on('error', () => void this.dropControl());
      await client.connect();
      this.control = client;
    }
    return this.control;
  }

  private async dropControl(): Promise<void> {
    const client = this.control;
    this.control = undefined;
    await client?.end().catch(() => undefined);
  }

  private setRole(role: RelayRole): void {
    this.state.role = role;
    relayMetrics.leader.set({ slot: this.options.slotName }, role === 'leader' ? 1 : 0);
  }

  /** Sleeps, but wakes at once when the relay is stopped. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}
