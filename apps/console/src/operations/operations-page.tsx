import { useQuery } from '@tanstack/react-query';
import { cqrs } from '../api/client';
import { fetchPageConfig } from '../api/local';
import { useSession } from '../auth/session';
import { isAdmin } from '../auth/token';
import { useDocumentTitle } from '../shell/router';
import { DeadLetters } from './dead-letters';
import { PipelineHealth } from './pipeline-health';
import { Projections } from './projections';
import { Reconciliation } from './reconciliation';
import { RelayStatus } from './relay-status';
import { TraceLookup } from './trace-lookup';

/**
 * Operating the pipeline: every user sees the apps' readiness; the admin role adds projections,
 * rebuilds, dead letters and the relay (the projector's admin API refuses anyone else).
 */
export function OperationsPage() {
  useDocumentTitle('Operations');
  const { session } = useSession();
  const admin = session !== null && isAdmin(session.claims);
  const config = useQuery({ queryKey: ['console', 'config'], queryFn: ({ signal }) => fetchPageConfig(signal) });
  const projections = useQuery({ ...cqrs.admin.projections(), enabled: admin, refetchInterval: 5000 });
  const template = config.data?.traceUrlTemplate ?? null;
  return (
    <main id="main" tabIndex={-1} className="page">
      <div className="page-header">
        <h1>Operations</h1>
      </div>
      <div className="operations">
        <PipelineHealth />
        {admin ? (
          <>
            <Projections />
            <DeadLetters
              projections={(projections.data?.projections ?? [])
                .filter((p) => p.kind === 'generations')
                .map((p) => p.name)}
              traceUrlTemplate={template}
            />
            <RelayStatus />
            <Reconciliation />
          </>
        ) : (
          <section className="card" aria-labelledby="admin-only-heading">
            <h2 id="admin-only-heading">Projections, dead letters and the relay</h2>
            <p>
              These need the <strong>admin</strong> role, and you are signed in as{' '}
              <strong>{session?.claims.sub}</strong> without it. Sign in with a token that has the admin role to see
              lag, rebuild projections and handle dead letters.
            </p>
          </section>
        )}
        <TraceLookup template={template} />
      </div>
    </main>
  );
}
