import type { Lsn } from './lsn';

/**
 * Decides which WAL position may be confirmed to Postgres. Rows are numbered in stream order as
 * they arrive; a checkpoint (a transaction's commit end, or an idle keepalive position) is
 * recorded after the rows that precede it. A checkpoint becomes confirmable once every row before
 * it has been acknowledged by Kafka, never earlier: that is the whole at-least-once argument.
 */
export class AckTracker {
  private received = 0;
  private acked = 0;
  private readonly checkpoints: { after: number; lsn: Lsn }[] = [];
  private confirmedLsn: Lsn;

  constructor(startLsn: Lsn) {
    this.confirmedLsn = startLsn;
  }

  /** The highest position whose rows are all on Kafka. */
  get confirmed(): Lsn {
    return this.confirmedLsn;
  }

  /** Rows received but not yet acknowledged. */
  get pending(): number {
    return this.received - this.acked;
  }

  /** Counts one received row; returns its sequence number. */
  row(): number {
    return this.received++;
  }

  /** Records a position reached after every row received so far; returns the new confirmable position. */
  checkpoint(lsn: Lsn): Lsn {
    if (lsn <= (this.checkpoints.at(-1)?.lsn ?? this.confirmedLsn)) return this.confirmedLsn;
    this.checkpoints.push({ after: this.received, lsn });
    return this.advance();
  }

  /** Marks the next `count` rows (in stream order) as written to Kafka; returns the confirmable position. */
  ack(count: number): Lsn {
    if (count < 0 || this.acked + count > this.received) {
      throw new Error(`acknowledging ${count} rows, but only ${this.received - this.acked} are pending`);
    }
    this.acked += count;
    return this.advance();
  }

  private advance(): Lsn {
    let i = 0;
    while (i < this.checkpoints.length && this.checkpoints[i]!.after <= this.acked) i++;
    if (i > 0) {
      this.confirmedLsn = this.checkpoints[i - 1]!.lsn;
      this.checkpoints.splice(0, i);
    }
    return this.confirmedLsn;
  }
}
