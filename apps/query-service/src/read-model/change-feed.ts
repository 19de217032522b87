import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import pRetry from 'p-retry';

/** What a change feed listens to, and what it reports. */
export interface ChangeFeedHandlers {
  /**
   * The channels to LISTEN on (lower-case identifiers), each with what a notification on it means.
   * A handler throws on a malformed payload: it is logged and ignored.
   */
  channels: Record<string, (payload: string) => void>;
  /**
   * Notifications may have been missed (the feed (re)connected): caches must be dropped and
   * waiters must look again.
   */
  onReset(reason: 'connected'): void;
}

/**
 * A context's projector commits as they happen: one dedicated Postgres connection LISTENing on
 * the context's channels (tasks: `tasks_changed`, `tasks_projection_switched`). It reconnects
 * with backoff forever, so the service starts (and serves uncached reads) while the database is down.
 */
export class ChangeFeed {
  private readonly logger = new Logger('ChangeFeed');
  private client: Client | undefined;
  private stopped = false;
  private abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly handlers: ChangeFeedHandlers,
  ) {
    for (const channel of Object.keys(handlers.channels))
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`"${channel}" is not a channel name`);
  }

  /** True while LISTENing; the readiness check reports it. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Starts connecting in the background; resolves at once. */
  start(): void {
    this.running ??= this.connectForever();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
    await this.running?.catch(() => undefined);
  }

  private async connectForever(): Promise<void> {
    await pRetry(() => this.connectOnce(), {
      retries: Infinity,
      unref: true,
      minTimeout: 200,
      maxTimeout: 5_000,
      randomize: true,
      signal: this.abort.signal,
      onFailedAttempt: ({ error, attemptNumber }) => {
        if (!this.stopped)
          this.logger.warn({ err: error, attempt: attemptNumber }, `change feed cannot LISTEN yet: ${error.message}`);
      },
    }).catch(() => undefined); // only when stopped
  }

  private async connectOnce(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: this.url,
      application_name: 'query-service-change-feed',
      keepAlive: true,
    });
    client.on('notification', (n) => this.dispatch(n.channel, n.payload ?? ''));
    const lost = (error?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      client.removeAllListeners('end');
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn({ err: error }, 'change feed connection lost; reconnecting');
      this.running = this.connectForever();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      for (const channel of Object.keys(this.handlers.channels)) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.logger.log('change feed listening');
    this.handlers.onReset('connected');
  }

  private dispatch(channel: string, payload: string): void {
    try {
      this.handlers.channels[channel]?.(payload);
    } catch (error) {
      this.logger.warn({ err: error, channel }, 'ignoring a malformed change notification');
    }
  }
}
