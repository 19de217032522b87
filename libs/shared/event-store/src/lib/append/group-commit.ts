import { DatabaseError } from 'pg';
import { ConcurrencyError, EventStoreUnavailableError } from '../event-store.errors';
import type { Sql } from '../sql';
import { UNIQUE_VIOLATION } from '../sql';
import { APPEND_BATCH, AppendFailedError, appendBatchParams, STREAM_VERSION_KEY, type AppendCall } from './append-call';

/** One append waiting for a group-commit call. */
interface QueuedAppend {
  call: AppendCall;
  resolve(outcome: BatchOutcome): void;
  reject(error: unknown): void;
}
interface BatchOutcome {
  append_index: number;
  global_positions: string[] | null;
  error_code: string | null;
  error_message: string | null;
  error_constraint: string | null;
}

export interface GroupCommitOptions {
  appendsInFlight: number;
  maxAppendBatch: number;
  maxQueuedAppends: number;
  deleteOutboxRows: boolean;
}

/**
 * Group commit: at most `appendsInFlight` batch calls run at once; appends arriving meanwhile
 * queue and go together in the next call (one round trip, one commit), each in its own
 * subtransaction of the batch function.
 */
export class GroupCommit {
  private readonly queued: QueuedAppend[] = [];
  private inFlight = 0;

  constructor(
    private readonly sql: Sql,
    private readonly options: GroupCommitOptions,
    /** The stream's version, for the conflict's message. */
    private readonly streamVersion: (streamId: string) => Promise<number>,
  ) {}

  /** Appends through the queue; resolves with the events' global positions, or throws as a single append would. */
  async append(call: AppendCall): Promise<number[]> {
    const { streamId, expectedVersion } = call;
    if (this.queued.length >= this.options.maxQueuedAppends) {
      throw new EventStoreUnavailableError(new Error(`group-commit queue full: ${this.queued.length} appends waiting`));
    }
    const outcome = await new Promise<BatchOutcome>((resolve, reject) => {
      this.queued.push({ call, resolve, reject });
      this.drain();
    });
    if (outcome.error_code !== null) {
      if (outcome.error_code === UNIQUE_VIOLATION && outcome.error_constraint === STREAM_VERSION_KEY) {
        throw new ConcurrencyError(
          streamId,
          expectedVersion,
          await this.streamVersion(streamId).catch(() => undefined),
          'conflict',
        );
      }
      throw new AppendFailedError(
        outcome.error_message ?? 'append failed',
        outcome.error_code,
        outcome.error_constraint ?? undefined,
      );
    }
    if (outcome.global_positions === null) {
      // The guard matched nothing: the stream is not at expectedVersion.
      throw new ConcurrencyError(streamId, expectedVersion, await this.streamVersion(streamId));
    }
    return outcome.global_positions.map(Number);
  }

  /** Starts group-commit calls while fewer than `appendsInFlight` are running. */
  private drain(): void {
    while (this.inFlight < this.options.appendsInFlight && this.queued.length > 0) {
      const batch = this.queued.splice(0, this.options.maxAppendBatch);
      this.inFlight += 1;
      void this.send(batch).finally(() => {
        this.inFlight -= 1;
        this.drain();
      });
    }
  }

  private async send(batch: QueuedAppend[]): Promise<void> {
    const params = appendBatchParams(
      batch.map((append) => append.call),
      this.options.deleteOutboxRows,
    );
    let rows: BatchOutcome[];
    try {
      rows = await this.sql.once<BatchOutcome>(APPEND_BATCH, params);
    } catch (error) {
      // An ErrorResponse from PostgreSQL rolled the call back; anything else may have left it
      // undecided (a connection lost before the commit's answer).
      if (EventStoreUnavailableError.matches(error) || !(error instanceof DatabaseError)) {
        // The database is out of reach (or the call's fate is unknown): every member shares it.
        for (const append of batch) append.reject(error);
      } else if (batch.length > 1) {
        // PostgreSQL refused the call as a whole, before any append ran (e.g. one append's
        // parameters cannot be stored), so nothing of it committed. One by one, only the
        // append that cannot be stored fails; its batch mates are not another caller's victims.
        for (const append of batch) await this.send([append]);
      } else {
        const { code = 'XX000', message, constraint = null } = error;
        batch[0]?.resolve({
          append_index: 1,
          global_positions: null,
          error_code: code,
          error_message: message,
          error_constraint: constraint,
        });
      }
      return;
    }
    for (const row of rows) batch[row.append_index - 1]?.resolve(row);
    // A settled promise ignores this: only appends left unanswered fail.
    const unanswered = new Error(`append batch answered ${rows.length} of ${batch.length} appends`);
    for (const append of batch) append.reject(unanswered);
  }
}
