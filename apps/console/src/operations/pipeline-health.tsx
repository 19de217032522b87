import { useQueries } from '@tanstack/react-query';
import { fetchReadiness, HEALTH_APPS, type Readiness } from '../api/local';

const STATE_LABEL: Record<Readiness['state'], string> = {
  ready: 'Ready',
  'not-ready': 'Not ready',
  unreachable: 'Unreachable',
};

const checkStatus = (value: unknown) =>
  typeof value === 'object' && value !== null && 'status' in value ? String((value as { status: unknown }).status) : '';

/** Each app's readiness (`/health/ready`), polled; public, so shown to every user. */
export function PipelineHealth() {
  const results = useQueries({
    queries: HEALTH_APPS.map(({ app }) => ({
      queryKey: ['console', 'health', app],
      queryFn: ({ signal }: { signal: AbortSignal }) => fetchReadiness(app, signal),
      refetchInterval: 5000,
      retry: false,
    })),
  });
  return (
    <section className="card" aria-labelledby="health-heading">
      <h2 id="health-heading">Pipeline health</h2>
      <ul className="health-list">
        {HEALTH_APPS.map(({ app, label }, i) => {
          const result = results[i];
          const readiness = result?.data;
          const state = readiness?.state;
          const down =
            readiness && readiness.state !== 'unreachable'
              ? Object.entries(readiness.checks).filter(([, v]) => checkStatus(v) === 'down')
              : [];
          return (
            <li key={app} className={`health health-${state ?? 'unknown'}`} aria-labelledby={`health-${app}`}>
              <span className="health-dot" aria-hidden="true" />
              <span id={`health-${app}`} className="health-name">
                {label}
              </span>
              <span className="health-state">
                {state ? STATE_LABEL[state] : result?.isError ? 'Unknown' : 'Checking…'}
              </span>
              {readiness?.state === 'unreachable' ? <span className="health-detail">{readiness.detail}</span> : null}
              {down.length > 0 ? (
                <span className="health-detail">Down: {down.map(([name]) => name).join(', ')}</span>
              ) : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
