import { useQuery } from '@tanstack/react-query';
import { cqrs } from '../api/client';
import { describeError, isNotFound } from '../api/errors';
import { useAdminCommand } from './use-admin-command';

/** Compares the tasks read model with a replay of the event store and Kafka; shows the last run. */
export function Reconciliation() {
  const latest = useQuery({
    ...cqrs.admin.latestReconciliation(),
    refetchInterval: (query) => (query.state.data?.state === 'running' ? 2000 : 30_000),
  });
  const start = useAdminCommand(cqrs.admin.reconcile(), () => 'Started a reconciliation.');
  const run = latest.data ?? null;
  const running = run?.state === 'running';
  return (
    <section className="card" aria-labelledby="reconciliation-heading">
      <div className="section-header">
        <h2 id="reconciliation-heading">Reconciliation</h2>
        <button
          type="button"
          className="button button-secondary"
          disabled={running || start.isPending}
          onClick={() => start.mutate({})}
        >
          Run reconciliation
        </button>
      </div>
      {latest.isError && !isNotFound(latest.error) ? (
        <p className="notice notice-error">{describeError(latest.error)}</p>
      ) : run === null ? (
        <p className="hint">None has run on this projector since it started.</p>
      ) : (
        <div>
          <p>
            <span className={`badge badge-${run.state}`}>{run.state}</span>
            {run.phase ? ` Phase: ${run.phase}.` : ''} Started {new Date(run.startedAt).toLocaleString()}.
          </p>
          {run.report ? (
            <p className={run.report.ok ? undefined : 'notice notice-warning'}>
              {run.report.ok
                ? 'The read model matches the event store.'
                : `${run.report.differences.length} differences found.`}
            </p>
          ) : null}
          {run.report?.advice.length ? (
            <ul>
              {run.report.advice.map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          ) : null}
          {run.error ? <p className="notice notice-error">{run.error}</p> : null}
        </div>
      )}
    </section>
  );
}
