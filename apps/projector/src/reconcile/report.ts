import { table } from '@cqrs/util/cli';
import type { Difference, DifferenceKind } from './compare';
import type { ReconcileReport } from './reconciler';

const n = (value: number) => value.toLocaleString('en-US');

const kinds = (byKind: Partial<Record<DifferenceKind, number>>) =>
  Object.entries(byKind)
    .map(([kind, count]) => `${kind} ${n(count)}`)
    .join(', ');

const countByKind = (differences: readonly Difference[]) => {
  const byKind: Partial<Record<DifferenceKind, number>> = {};
  for (const d of differences) byKind[d.kind] = (byKind[d.kind] ?? 0) + 1;
  return byKind;
};

/** The differences as the table the CLI prints (at most `limit` rows). */
export function differenceTable(differences: readonly Difference[], limit: number): string {
  const shown = differences.slice(0, limit).map((d) => ({
    'stream / user': d.streamId ?? (d.ownerId !== undefined ? `user ${d.ownerId}` : '-'),
    kind: d.kind,
    field: d.field,
    'read model / kafka': d.side === 'kafka' ? `kafka ${d.found ?? '-'}` : (d.found ?? '-'),
    store: d.store ?? '-',
  }));
  const more = differences.length - shown.length;
  return (
    table(shown) + (more > 0 ? `\n… ${n(more)} more (--limit ${differences.length} shows all, --json lists all)` : '')
  );
}

/** The report as the CLI prints it: a summary, the differences, notes and what to do. */
export function describeReport(report: ReconcileReport, limit: number): string {
  const s = report.summary;
  const lines = [
    `generation ${s.generation}: ${n(s.streamsChecked)} stream(s), ${n(s.rowsChecked)} row(s) and ${n(s.usersChecked)} user(s)' statistics checked ` +
      `against ${n(s.eventsRead)} event(s) of the store; ${n(s.kafkaRecords)} Kafka record(s) on ${s.kafkaPartitions} partition(s); ${(s.durationMs / 1000).toFixed(1)} s`,
  ];
  if (report.repair && report.found) {
    const r = report.repair;
    lines.push(
      `found: ${report.found.length === 0 ? 'no differences' : `${n(report.found.length)} difference(s): ${kinds(countByKind(report.found))}`}`,
    );
    lines.push(
      `repair: ${n(r.rewritten)} stream(s) rewritten from the store, ${n(r.removed)} removed, ${n(r.skipped)} skipped; ` +
        `${n(r.usersRecounted)} user(s)' statistics recounted; ${(r.durationMs / 1000).toFixed(1)} s`,
    );
    for (const f of r.failures.slice(0, limit)) lines.push(`  not repaired: ${f.streamId}: ${f.error}`);
  }
  lines.push(
    report.differences.length === 0
      ? report.repair
        ? 'after the repair: no differences: the read model agrees with the store, and the store with Kafka'
        : 'no differences: the read model agrees with the store, and the store with Kafka'
      : `${report.repair ? 'remaining after the repair' : 'differences'}: ${n(report.differences.length)} (${kinds(s.differencesByKind)})`,
  );
  if (report.differences.length > 0) lines.push('', differenceTable(report.differences, limit));
  if (report.notes.length > 0) lines.push('', 'notes:', ...report.notes.map((note) => `- ${note}`));
  if (report.advice.length > 0) lines.push('', 'what to do:', ...report.advice.map((a) => `- ${a}`));
  if (!report.repair && report.differences.some((d) => d.side === 'read-model')) {
    lines.push('', 'reconcile --repair rewrites the streams that differ in the read model from the store.');
  }
  return lines.join('\n');
}
