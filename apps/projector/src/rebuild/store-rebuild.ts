import { EventStoreReader } from '@cqrs/event-store';
import { taskUpcasters } from '@cqrs/tasks-domain';
import { generationTables, type NotedOffset, type RebuildProgressStore } from '@cqrs/tasks-read-model';
import type { UpcasterChain } from '@cqrs/util';
import type { Pool } from 'pg';
import { GenerationLoader, type FlushSet } from './generation-loader';
import { ProgressMeter, type Throughput } from './progress-meter';

/**
 * The command side's stream type of tasks (its `aggregatetype`, whose topic is `tasks.task.events`):
 * the streams a store rebuild of the tasks projection reads.
 */
export const TASKS_STREAM_TYPE = 'tasks.task';

/** Tuning of the store read and the load; the defaults suit a million events on two cores. */
export interface StoreLoadSettings {
  /** Events per store query (one JSON text each). @default 10_000 */
  batchSize?: number;
  /** Connections reading the snapshot side by side. @default 2 */
  connections?: number;
  /**
   * Write what changed once this many events were applied since the last write. Smaller writes
   * rewrite more rows (a stream changed on both sides of a write is written twice); larger ones
   * make the reads and writes contend in bursts and leave a longer last write. @default 100_000
   */
  flushEvents?: number;
  /** …or once this long has passed since it. @default 5_000 */
  flushMs?: number;
  /** Streams kept in memory between writes (beyond, they are read back when needed). @default 1_000_000 */
  maxStreams?: number;
  /** Least time between two progress reports (and progress-row updates). @default 500 */
  progressEveryMs?: number;
}

export interface StorePhaseInput extends StoreLoadSettings {
  /** The read database as the projector role (the generation's tables, the progress row). */
  pool: Pool;
  /** The event store as a role that may read `events` and `events_archive`. */
  eventStore: Pool;
  generation: number;
  progress: RebuildProgressStore;
  rebuildId: number;
  /** Continue after this store position (a resume); 0 reads everything. */
  afterPosition: number;
  /** Events already done before `afterPosition` (a resume). */
  eventsDoneBefore: number;
  /** The offsets noted before the first snapshot: recorded as the partitions' applied position. */
  notedOffsets: readonly NotedOffset[];
  streamType?: string;
  upcasters?: UpcasterChain;
  signal?: AbortSignal;
  onProgress?: (p: Throughput & { eventsExpected: number | null; storePosition: number }) => void;
}

export interface StorePhaseResult {
  /** Events read from the store in this run. */
  events: number;
  applied: number;
  duplicates: number;
  /** Ahead of their stream in this snapshot (only after a resume): Kafka brings them. */
  leftToKafka: number;
  parked: number;
  /** The position through which the store was applied. */
  throughPosition: number;
  /** Events done in all (earlier runs of a resumed rebuild included). */
  eventsDone: number;
  durationMs: number;
  /** Where the time went: waiting for the store's batches, folding them, waiting for writes. */
  timings: { readWaitMs: number; applyMs: number; writeWaitMs: number };
}

/** Raised when the abort signal ends the store read; what was written stays, for `--resume`. */
export class StoreReadInterrupted extends Error {
  override readonly name = 'StoreReadInterrupted';
}

/**
 * The store phase of a rebuild: opens ONE snapshot of the event store (after `afterPosition`),
 * folds its events into the generation with a {@link GenerationLoader}, and writes what changed
 * every `flushEvents` events (or `flushMs`) in a transaction that also moves the rebuild's
 * recorded store position, so an interrupted rebuild resumes exactly after the last write. The
 * next store batches are read while one is applied, and a write runs while the next events are
 * folded.
 */
export async function runStorePhase(input: StorePhaseInput): Promise<StorePhaseResult> {
  const started = performance.now();
  const flushEvents = input.flushEvents ?? 100_000;
  const flushMs = input.flushMs ?? 5_000;
  const loader = new GenerationLoader(input.pool, input.generation, {
    resumed: input.afterPosition > 0,
    maxStreams: input.maxStreams,
  });
  const snapshot = await new EventStoreReader(input.eventStore).open({
    afterPosition: input.afterPosition,
    streamType: input.streamType ?? TASKS_STREAM_TYPE,
    batchSize: input.batchSize,
    connections: input.connections,
    upcasters: input.upcasters ?? taskUpcasters,
    // An event that cannot be lifted is poison: its stream is parked, as the live projector would.
    onUpcastError: 'keep',
  });
  const meter = new ProgressMeter();
  let expected: number | null = null;
  const counting = snapshot.count().then(
    (n) => (expected = input.eventsDoneBefore + n),
    () => undefined, // only the ETA needs it
  );
  const result: StorePhaseResult = {
    events: 0,
    applied: 0,
    duplicates: 0,
    leftToKafka: 0,
    parked: 0,
    throughPosition: input.afterPosition,
    eventsDone: input.eventsDoneBefore,
    durationMs: 0,
    timings: { readWaitMs: 0, applyMs: 0, writeWaitMs: 0 },
  };
  const timed = async <T>(key: keyof StorePhaseResult['timings'], work: () => Promise<T>): Promise<T> => {
    const from = performance.now();
    try {
      return await work();
    } finally {
      result.timings[key] += performance.now() - from;
    }
  };
  let writing: Promise<void> = Promise.resolve();
  let sinceWrite = 0;
  let lastWriteAt = performance.now();
  let lastReportAt = 0;

  const report = (force = false) => {
    const now = performance.now();
    if (!force && now - lastReportAt < (input.progressEveryMs ?? 500)) return;
    lastReportAt = now;
    const throughput = meter.sample(result.eventsDone, expected);
    input.onProgress?.({ ...throughput, eventsExpected: expected, storePosition: result.throughPosition });
    // Not awaited (and not in the write's transaction): the position moves only with the rows.
    void input.progress
      .update(input.rebuildId, {
        eventsDone: result.eventsDone,
        eventsExpected: expected ?? undefined,
        eventsPerSecond: throughput.eventsPerSecond,
      })
      .catch(() => undefined);
  };
  /** Cuts what changed and writes it after the write before it, with the position it reached. */
  const write = (final: boolean) => {
    const set = loader.cut();
    const position = result.throughPosition;
    const done = result.eventsDone;
    const previous = writing;
    writing = previous.then(() => writeFlush(input, loader, set, { position, done, final }));
    writing.catch(() => undefined); // awaited before the next write and at the end
    sinceWrite = 0;
    lastWriteAt = performance.now();
  };

  try {
    const batches = snapshot.batches();
    for (;;) {
      const next = await timed('readWaitMs', () => batches.next());
      if (next.done) break;
      const batch = next.value;
      if (input.signal?.aborted) {
        // Keep what was applied: written with its position, it is where a resume continues.
        await writing;
        write(false);
        await writing;
        throw new StoreReadInterrupted(
          `rebuild interrupted while reading the event store (applied through position ${result.throughPosition})`,
        );
      }
      const outcome = await timed('applyMs', () => loader.apply(batch.events));
      result.events += batch.events.length;
      result.applied += outcome.applied;
      result.duplicates += outcome.duplicates;
      result.leftToKafka += outcome.leftToKafka;
      result.parked += outcome.parked;
      result.eventsDone += batch.events.length;
      result.throughPosition = batch.throughPosition;
      sinceWrite += batch.events.length;
      if (sinceWrite >= flushEvents || (sinceWrite > 0 && performance.now() - lastWriteAt >= flushMs)) {
        await timed('writeWaitMs', () => writing); // one write at a time: the next one waits for this one's commit
        write(false);
      }
      report();
    }
    await timed('writeWaitMs', () => writing);
    write(true);
    await timed('writeWaitMs', () => writing);
  } catch (error) {
    await writing.catch(() => undefined); // settled before the caller records how it ended
    throw error;
  } finally {
    await snapshot.close();
  }
  await counting;
  report(true);
  result.durationMs = Math.round(performance.now() - started);
  for (const key of Object.keys(result.timings) as (keyof StorePhaseResult['timings'])[])
    result.timings[key] = Math.round(result.timings[key]);
  return result;
}

/** One write: the flush set, the partitions' noted positions (last one), and the progress row, in one transaction. */
async function writeFlush(
  input: StorePhaseInput,
  loader: GenerationLoader,
  set: FlushSet,
  { position, done, final }: { position: number; done: number; final: boolean },
): Promise<void> {
  const client = await input.pool.connect();
  try {
    await client.query('BEGIN');
    await loader.write(client, set);
    if (final) {
      // The partitions' last applied positions as the noted offsets say: everything before
      // them is in the store's snapshot (`status` shows them until Kafka moves them on).
      const seen = input.notedOffsets.filter((o) => BigInt(o.offset) > 0n);
      if (seen.length > 0) {
        const t = generationTables(input.generation);
        await client.query(
          `INSERT INTO ${t.partition_positions} AS p (topic, partition, last_offset)
           SELECT topic, partition, last_offset FROM json_to_recordset($1::json) AS x(topic text, partition int, last_offset bigint)
           ON CONFLICT (topic, partition) DO UPDATE SET last_offset = GREATEST(p.last_offset, EXCLUDED.last_offset), applied_at = now()`,
          [
            JSON.stringify(
              seen.map((o) => ({
                topic: o.topic,
                partition: o.partition,
                last_offset: (BigInt(o.offset) - 1n).toString(),
              })),
            ),
          ],
        );
      }
    }
    await input.progress.update(input.rebuildId, { storePosition: position, eventsAtPosition: done }, client);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
