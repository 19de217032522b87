import { gauge } from '@cqrs/observability';
import { RebuildProgressStore, type RebuildRecord } from '@cqrs/tasks-read-model';
import type { Pool } from 'pg';

const LABELS = ['generation', 'source'] as ('generation' | 'source')[];

/**
 * The `cqrs_projection_rebuild_*` gauges: the latest rebuild recorded in `projection_rebuilds`
 * (run by the CLI, wherever), as the running projector sees it. One series per gauge, labelled
 * with the rebuild's generation and source; a newer rebuild replaces the series.
 */
export const REBUILD_GAUGES = {
  running: gauge('cqrs_projection_rebuild_running', 'Whether the latest rebuild is running (1), or ended (0).', LABELS),
  eventsDone: gauge(
    'cqrs_projection_rebuild_events_done',
    'Events the latest rebuild has applied (store events, then Kafka records after its noted offsets).',
    LABELS,
  ),
  eventsExpected: gauge(
    'cqrs_projection_rebuild_events_expected',
    'Events the latest rebuild expects to apply in all (counted in its store snapshot, or records on the topics).',
    LABELS,
  ),
  eventsPerSecond: gauge(
    'cqrs_projection_rebuild_events_per_second',
    'The latest rebuild’s recent rate, in events per second.',
    LABELS,
  ),
  etaSeconds: gauge(
    'cqrs_projection_rebuild_eta_seconds',
    'Time the latest rebuild needs at its recent rate to apply what it expects (-1: unknown).',
    LABELS,
  ),
  storePosition: gauge(
    'cqrs_projection_rebuild_store_position',
    'The event-store position the latest store rebuild has applied and committed through (where a resume continues).',
    LABELS,
  ),
  lastReportSeconds: gauge(
    'cqrs_projection_rebuild_last_report_timestamp_seconds',
    'When the latest rebuild last reported (Unix time): a running one reports every few seconds.',
    LABELS,
  ),
};

/** Sets the gauges from a rebuild's record (or clears them when there is none). */
export function showRebuild(record: RebuildRecord | undefined): void {
  for (const g of Object.values(REBUILD_GAUGES)) g.reset();
  if (!record) return;
  const labels = { generation: String(record.generation), source: record.source };
  const running = record.status === 'running';
  const left = record.eventsExpected === null ? null : Math.max(0, record.eventsExpected - record.eventsDone);
  REBUILD_GAUGES.running.set(labels, running ? 1 : 0);
  REBUILD_GAUGES.eventsDone.set(labels, record.eventsDone);
  REBUILD_GAUGES.eventsExpected.set(labels, record.eventsExpected ?? 0);
  REBUILD_GAUGES.eventsPerSecond.set(labels, running ? record.eventsPerSecond : 0);
  REBUILD_GAUGES.etaSeconds.set(
    labels,
    !running ? 0 : left === null || record.eventsPerSecond <= 0 ? -1 : Math.round(left / record.eventsPerSecond),
  );
  REBUILD_GAUGES.storePosition.set(labels, record.storePosition ?? 0);
  REBUILD_GAUGES.lastReportSeconds.set(labels, record.updatedAt.getTime() / 1000);
}

/** Reads the latest rebuild and shows it; a read database without the table (not migrated yet) shows none. */
export async function refreshRebuildGauges(pool: Pool): Promise<void> {
  try {
    showRebuild(await new RebuildProgressStore(pool).latest());
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return showRebuild(undefined);
    throw error;
  }
}
