import type { Task, TaskEvent } from '@cqrs/tasks-domain';
import type { BatchPlan, SequencedRecord } from '../sequencing/stream-sequencer';
import type { ApplyBatchOptions, BatchOutcome, TaskReadModelWriter } from './task-read-model.writer';

interface Member {
  records: readonly SequencedRecord<TaskEvent>[];
  /** The member's records and streams, to pick its part out of the group's outcome. */
  sources: ReadonlySet<SequencedRecord<TaskEvent>['source']>;
  streams: ReadonlySet<string | null>;
  options: ApplyBatchOptions;
  resolve: (outcome: BatchOutcome) => void;
  reject: (error: unknown) => void;
}

/** The part of a group's plan that concerns one member's records (and their streams). */
function memberPlan(plan: BatchPlan<Task, TaskEvent>, { sources, streams }: Member): BatchPlan<Task, TaskEvent> {
  return {
    changes: new Map([...plan.changes].filter(([streamId]) => streams.has(streamId))),
    checkpoints: new Map([...plan.checkpoints].filter(([streamId]) => streams.has(streamId))),
    duplicates: plan.duplicates.filter((r) => sources.has(r.source)),
    parked: plan.parked.filter((p) => sources.has(p.source)),
    gaps: plan.gaps.filter((r) => sources.has(r.source)),
    applied: plan.applied.filter((r) => sources.has(r.source)),
  };
}

/**
 * Group commit for the projector: the batches of different partitions handed over in the same
 * turn of the event loop (a consumer working several partitions at once gets them from one
 * fetch) are applied in ONE read-model transaction, then each caller gets the part of the
 * outcome that is its own. A partition's events are other streams than another partition's, so
 * merging never reorders a stream. At low rates each partition's batch holds an event or two,
 * and a transaction per batch would cost more round trips and commits than the events do.
 *
 * Only small first attempts without gap parking are grouped (a catching-up consumer's large
 * batches gain nothing from sharing); retries (which may park gaps) run alone,
 * and when a group fails, each member is tried alone at once, so one stream's gap or conflict
 * never holds back the other partitions.
 */
export class BatchGroupWriter {
  private pending: Member[] = [];

  private large = 0;
  private readonly waitingLarge: (() => void)[] = [];

  /**
   * @param maxRecords batches at least this large go alone: they hold enough to pay for their
   *   own transaction, and a backlog's partitions then commit side by side instead of in one
   *   serial transaction. @default 500
   * @param maxLargeInFlight how many such large batches are applied at once; more only contend
   *   for the same cores (catching up 1,000,000 events took 46 s with 6 at once, 29 s with 2).
   *   @default 2
   */
  constructor(
    private readonly writer: TaskReadModelWriter,
    private readonly maxRecords = 500,
    private readonly maxLargeInFlight = 2,
  ) {}

  /** As {@link TaskReadModelWriter.applyBatch}, possibly sharing the transaction with other calls. */
  applyBatch(records: readonly SequencedRecord<TaskEvent>[], options: ApplyBatchOptions = {}): Promise<BatchOutcome> {
    if (records.length >= this.maxRecords) return this.applyLarge(records, options);
    if (options.parkGaps || (options.attempts ?? 1) > 1) return this.writer.applyBatch(records, options);
    return new Promise((resolve, reject) => {
      const sources = new Set(records.map((r) => r.source));
      const streams = new Set(records.map((r) => r.decoded.streamId));
      if (this.pending.push({ records, sources, streams, options, resolve, reject }) === 1)
        setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const members = this.pending;
    this.pending = [];
    if (members.length === 1) return this.alone(members[0]!);
    let outcome: BatchOutcome;
    try {
      outcome = await this.writer.applyBatch(
        members.flatMap((m) => m.records),
        {
          attempts: 1,
          firstFailedAt: members[0]!.options.firstFailedAt,
          positions: members.flatMap((m) => m.options.positions ?? []),
          beforeCommit: async (plan) => {
            for (const m of members) {
              const own = memberPlan(plan, m);
              if (own.parked.length > 0) await m.options.beforeCommit?.(own);
            }
          },
        },
      );
    } catch {
      // Whatever failed the group (a gap, a conflict, a DLQ outage) is some member's own problem.
      await Promise.all(members.map((m) => this.alone(m)));
      return;
    }
    for (const m of members)
      m.resolve({
        plan: memberPlan(outcome.plan, m),
        notices: outcome.notices.filter((n) => m.streams.has(n.streamId)),
      });
  }

  private async applyLarge(
    records: readonly SequencedRecord<TaskEvent>[],
    options: ApplyBatchOptions,
  ): Promise<BatchOutcome> {
    if (this.large >= this.maxLargeInFlight) await new Promise<void>((resolve) => this.waitingLarge.push(resolve));
    else this.large++;
    try {
      return await this.writer.applyBatch(records, options);
    } finally {
      // hand the slot straight to the next waiter, or free it
      const next = this.waitingLarge.shift();
      if (next) next();
      else this.large--;
    }
  }

  private alone(member: Member): Promise<void> {
    return this.writer.applyBatch(member.records, member.options).then(member.resolve, member.reject);
  }
}
